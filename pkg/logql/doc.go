// Package logql evaluates LogQL queries: log queries that return streams and
// metric queries that return matrices, vectors and scalars, over the entries
// that the querier's sources (ingesters and the store) provide.
package logql
