package otlp

// maxJSONDepth bounds the nesting of a JSON export. OTLP's protobuf decoder
// stops at 100 levels of values; its JSON decoder has no limit, and its
// recursion (and the flattening of nested maps, whose names grow with the
// depth) would let a body of deeply nested values exhaust the stack or the
// CPU. An attribute map nested as deep as protobuf allows takes about 140
// JSON levels; 1000 leaves plenty of room.
const maxJSONDepth = 1000

// checkJSONDepth fails if objects and arrays in data nest deeper than limit.
// It only counts brackets outside strings; the decoder checks the rest.
func checkJSONDepth(data []byte, limit int) error {
	depth := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > limit {
				return errorf(ErrMalformed, "JSON nested deeper than %d levels", limit)
			}
		case '}', ']':
			depth = max(depth-1, 0) // stray closers cannot buy depth
		}
	}
	return nil
}
