; repopack additions to tree-sitter-python's tags.scm.
; Header lines "; key: values" configure parse.py for this language:
;   refs        node types counted as references
;   scopes      node types whose bodies hold locals (definitions inside are dropped)
;   containers  node type:field naming a class-like container (its functions are methods)
;   keywords    names never counted as references
; refs: identifier
; scopes: function_definition lambda
; containers: class_definition:name
; keywords: False None True and as assert async await break class continue def del elif else except
; keywords: finally for from global if import in is lambda nonlocal not or pass raise return try while
; keywords: with yield match case type _ self cls

; Module-level assignments (upstream calls them all constants; UPPER_CASE decides).
(module
  (expression_statement
    (assignment left: (identifier) @name) @definition.variable))

(import_statement name: (dotted_name) @import)
(import_statement name: (aliased_import name: (dotted_name) @import))
(import_from_statement module_name: (dotted_name) @import)
(import_from_statement module_name: (relative_import) @import.from_relative)
