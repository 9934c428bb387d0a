; repopack additions to tree-sitter-ruby's tags.scm (see python.scm for the header keys).
; refs: identifier constant
; scopes: method singleton_method block do_block lambda
; containers: class:name module:name
; keywords: alias and begin break case class def defined do else elsif end ensure false for if in module
; keywords: next nil not or redo rescue retry return self super then true undef unless until when while
; keywords: yield

(assignment left: (constant) @name) @definition.constant

((call
   method: (identifier) @_require
   arguments: (argument_list . (string (string_content) @import)))
 (#any-of? @_require "require" "load"))
((call
   method: (identifier) @_require
   arguments: (argument_list . (string (string_content) @import.require_relative)))
 (#eq? @_require "require_relative"))
