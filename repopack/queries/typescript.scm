; inherits: javascript
; repopack additions to tree-sitter-typescript's tags.scm (see python.scm for the header keys).
; Upstream TypeScript tags only extend JavaScript's, so parse.py loads both.
; refs: type_identifier
; containers: abstract_class_declaration:name interface_declaration:name
; keywords: interface type enum implements namespace declare abstract private protected public readonly
; keywords: keyof infer is asserts any unknown never number string boolean symbol object

(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.type
(internal_module name: (identifier) @name) @definition.module
(program (export_statement declaration: (interface_declaration name: (type_identifier) @name) @definition.interface))
