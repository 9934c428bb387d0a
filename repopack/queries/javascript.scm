; repopack additions to tree-sitter-javascript's tags.scm (see python.scm for the header keys).
; refs: identifier property_identifier shorthand_property_identifier shorthand_property_identifier_pattern
; scopes: function_declaration function_expression arrow_function method_definition
; scopes: generator_function generator_function_declaration
; containers: class_declaration:name class:name
; keywords: break case catch class const continue debugger default delete do else export extends false
; keywords: finally for function if import in instanceof let new null return super switch this throw
; keywords: true try typeof var void while with yield async await of static get set undefined

; Top-level bindings: `const API_ROOT = ...`, `export let store = ...`.
(program (lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable))
(program (variable_declaration (variable_declarator name: (identifier) @name) @definition.variable))
(program
  (export_statement
    declaration: (lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)))

(import_statement source: (string) @import)
(export_statement source: (string) @import)
((call_expression
   function: (identifier) @_require
   arguments: (arguments . (string) @import))
 (#eq? @_require "require"))
(call_expression function: (import) arguments: (arguments . (string) @import))
