; repopack additions to tree-sitter-java's tags.scm (see python.scm for the header keys).
; refs: identifier type_identifier
; scopes: method_declaration constructor_declaration lambda_expression
; containers: class_declaration:name interface_declaration:name enum_declaration:name record_declaration:name
; keywords: abstract assert boolean break byte case catch char class const continue default do double
; keywords: else enum extends final finally float for goto if implements import instanceof int interface
; keywords: long native new package private protected public return short static strictfp super switch
; keywords: synchronized this throw throws transient try void volatile while true false null var record

(enum_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(annotation_type_declaration name: (identifier) @name) @definition.interface
((field_declaration declarator: (variable_declarator name: (identifier) @name)) @definition.constant
 (#match? @name "^[A-Z][A-Z0-9_]*$"))

(import_declaration) @import.statement
