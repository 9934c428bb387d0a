; repopack additions to tree-sitter-go's tags.scm (see python.scm for the header keys).
; refs: identifier type_identifier field_identifier package_identifier
; scopes: function_declaration method_declaration func_literal
; containers: type_spec:name
; keywords: break case chan const continue default defer else fallthrough for func go goto if import
; keywords: interface map package range return select struct switch type var nil true false iota _

(source_file (const_declaration (const_spec name: (identifier) @name) @definition.constant))
(source_file (var_declaration (var_spec name: (identifier) @name) @definition.variable))
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.class
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(method_elem name: (field_identifier) @name) @definition.method

(import_spec path: (interpreted_string_literal) @import)
