; repopack additions to tree-sitter-c's tags.scm (see python.scm for the header keys).
; refs: identifier type_identifier field_identifier
; scopes: function_definition
; keywords: auto break case char const continue default do double else enum extern float for goto if
; keywords: inline int long register restrict return short signed sizeof static struct switch typedef
; keywords: union unsigned void volatile while bool true false NULL

(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro

(preproc_include path: (_) @import)
