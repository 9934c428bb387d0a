; repopack definitions for bash, which ships no tags.scm (see python.scm for the header keys).
; refs: command_name variable_name
; scopes: function_definition
; keywords: if then else elif fi case esac for select while until do done in function time coproc
; keywords: local export declare readonly return echo set shift exit test true false cd source

(function_definition name: (word) @name) @definition.function
(program (variable_assignment name: (variable_name) @name) @definition.variable)

((command
   name: (command_name (word) @_source)
   .
   argument: (_) @import)
 (#any-of? @_source "source" "."))
