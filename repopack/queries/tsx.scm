; inherits: typescript
; TSX is TypeScript with JSX; the grammar differs, the queries do not.
