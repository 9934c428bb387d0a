; repopack additions to tree-sitter-lua's tags.scm (see python.scm for the header keys).
; refs: identifier
; scopes: function_declaration function_definition
; keywords: and break do else elseif end false for function goto if in local nil not or repeat return
; keywords: then true until while self

; Top-level locals holding data: `local M = {}`, `local MAX = 3` (not `local x = require(...)`).
(chunk
  (variable_declaration
    (assignment_statement
      (variable_list . name: (identifier) @name)
      (expression_list . value: [(table_constructor) (number) (string) (true) (false)]))) @definition.variable)

((function_call
   name: (identifier) @_require
   arguments: (arguments . (string content: (string_content) @import)))
 (#eq? @_require "require"))
