; repopack additions to tree-sitter-php's tags.scm (see python.scm for the header keys).
; refs: name
; scopes: function_definition method_declaration anonymous_function arrow_function
; containers: class_declaration:name interface_declaration:name trait_declaration:name enum_declaration:name
; keywords: abstract and array as break callable case catch class clone const continue declare default
; keywords: do echo else elseif empty enddeclare endfor endforeach endif endswitch endwhile extends final
; keywords: finally fn for foreach function global goto if implements include instanceof insteadof
; keywords: interface isset list match namespace new or print private protected public readonly require
; keywords: return static switch throw trait try unset use var while yield true false null this self

(enum_declaration name: (name) @name) @definition.class
(const_declaration (const_element (name) @name)) @definition.constant

(namespace_use_clause [(name) (qualified_name)] @import)
(require_expression [(string (string_content) @import) (binary_expression right: (string (string_content) @import))])
(require_once_expression [(string (string_content) @import) (binary_expression right: (string (string_content) @import))])
(include_expression [(string (string_content) @import) (binary_expression right: (string (string_content) @import))])
(include_once_expression [(string (string_content) @import) (binary_expression right: (string (string_content) @import))])
