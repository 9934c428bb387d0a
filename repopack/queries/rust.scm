; repopack additions to tree-sitter-rust's tags.scm (see python.scm for the header keys).
; refs: identifier type_identifier field_identifier
; scopes: function_item closure_expression
; containers: impl_item:type trait_item:name
; keywords: as async await break const continue crate dyn else enum extern false fn for if impl in let
; keywords: loop match mod move mut pub ref return self Self static struct super trait true type unsafe
; keywords: use where while _

(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.constant
(type_item name: (type_identifier) @name) @definition.type
(trait_item body: (declaration_list (function_signature_item name: (identifier) @name) @definition.method))

(use_declaration argument: (_) @import)
(extern_crate_declaration name: (identifier) @import)
