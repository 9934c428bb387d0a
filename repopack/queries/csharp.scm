; repopack additions to tree-sitter-c-sharp's tags.scm (see python.scm for the header keys).
; refs: identifier
; scopes: method_declaration constructor_declaration local_function_statement lambda_expression
; scopes: accessor_declaration
; containers: class_declaration:name interface_declaration:name struct_declaration:name
; containers: record_declaration:name enum_declaration:name
; keywords: abstract as base bool break byte case catch char checked class const continue decimal
; keywords: default delegate do double else enum event explicit extern false finally fixed float for
; keywords: foreach goto if implicit in int interface internal is lock long namespace new null object
; keywords: operator out override params private protected public readonly ref return sbyte sealed short
; keywords: sizeof static string struct switch this throw true try typeof uint ulong unchecked unsafe
; keywords: ushort using virtual void volatile while var async await get set value

(struct_declaration name: (identifier) @name) @definition.class
(enum_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(delegate_declaration name: (identifier) @name) @definition.type
(namespace_declaration name: (qualified_name) @name) @definition.module
(file_scoped_namespace_declaration name: (_) @name) @definition.module
((field_declaration
   (modifier) @_const
   (variable_declaration (variable_declarator name: (identifier) @name))) @definition.constant
 (#eq? @_const "const"))

(using_directive) @import.statement
