; inherits: c
; repopack additions to tree-sitter-cpp's tags.scm (see python.scm for the header keys).
; refs: namespace_identifier
; scopes: lambda_expression
; containers: class_specifier:name struct_specifier:name
; keywords: class namespace template typename public private protected virtual override final new
; keywords: delete this operator using try catch throw nullptr constexpr noexcept explicit friend std

(namespace_definition name: (namespace_identifier) @name) @definition.module
(alias_declaration name: (type_identifier) @name) @definition.type
