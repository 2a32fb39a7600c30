// `pg-oldest` is pg 8.11.0 installed under an npm alias (package.json); @types/pg
// describes 'pg' only, and the tests use the same public API of both.
declare module 'pg-oldest' {
  import pg from 'pg'
  export default pg
}
