package api

// isParseError reports whether err is a LogQL parse error (400).
//
// The LogQL parser (package logql/syntax) exports ErrParse; until it lands
// this returns false and parse errors reach the client through the engine
// wrapping logql.ErrBadRequest. Once it exists this becomes
//
//	return errors.Is(err, syntax.ErrParse)
func isParseError(err error) bool {
	_ = err
	return false
}
