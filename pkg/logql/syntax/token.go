package syntax

import "time"

// tokenKind identifies a lexical token. The order follows the token
// declarations of Loki's grammar, because Loki lists the expected tokens of a
// syntax error in that order and the messages must read the same.
type tokenKind uint8

const (
	tokEOF tokenKind = iota
	// tokError carries a lexical error; the parser reports it when it reaches it.
	tokError
	// tokIllegal is a character no rule accepts. Loki's lexer calls it
	// IDENTIFIER in messages but no rule of this parser accepts it.
	tokIllegal

	tokBytes
	tokIdentifier
	tokString
	tokNumber
	tokParserFlag
	tokDuration
	tokRange
	tokEq
	tokRe
	tokNre
	tokNpa
	tokOpenBrace
	tokCloseBrace
	tokOpenBracket
	tokCloseBracket
	tokComma
	tokDot
	tokPipeMatch
	tokPipeExact
	tokPipePattern
	tokOpenParen
	tokCloseParen
	tokBy
	tokWithout
	tokCountOverTime
	tokRate
	tokRateCounter
	tokSum
	tokSort
	tokSortDesc
	tokAvg
	tokMax
	tokMin
	tokCount
	tokStddev
	tokStdvar
	tokBottomK
	tokTopK
	tokApproxTopK
	tokBytesOverTime
	tokBytesRate
	tokBool
	tokJSON
	tokRegexp
	tokLogfmt
	tokPipe
	tokLineFmt
	tokLabelFmt
	tokUnwrap
	tokAvgOverTime
	tokSumOverTime
	tokMinOverTime
	tokMaxOverTime
	tokStdvarOverTime
	tokStddevOverTime
	tokQuantileOverTime
	tokBytesConv
	tokDurationConv
	tokDurationSecondsConv
	tokFirstOverTime
	tokLastOverTime
	tokAbsentOverTime
	tokVector
	tokLabelReplace
	tokUnpack
	tokOffset
	tokPattern
	tokIP
	tokOn
	tokIgnoring
	tokGroupLeft
	tokGroupRight
	tokDecolorize
	tokDrop
	tokKeep
	tokOr
	tokAnd
	tokUnless
	tokCmpEq
	tokNeq
	tokLt
	tokLte
	tokGt
	tokGte
	tokAdd
	tokSub
	tokMul
	tokDiv
	tokMod
	tokPow

	numTokenKinds
)

// tokenNames are the names Loki's parser gives tokens in its messages: the
// literal text for punctuation and keywords, the grammar name for the rest.
var tokenNames = [numTokenKinds]string{
	tokEOF:                 "$end",
	tokError:               "$unk",
	tokIllegal:             "IDENTIFIER",
	tokBytes:               "BYTES",
	tokIdentifier:          "IDENTIFIER",
	tokString:              "STRING",
	tokNumber:              "NUMBER",
	tokParserFlag:          "PARSER_FLAG",
	tokDuration:            "DURATION",
	tokRange:               "RANGE",
	tokEq:                  "=",
	tokRe:                  "=~",
	tokNre:                 "!~",
	tokNpa:                 "!>",
	tokOpenBrace:           "{",
	tokCloseBrace:          "}",
	tokOpenBracket:         "[",
	tokCloseBracket:        "]",
	tokComma:               ",",
	tokDot:                 ".",
	tokPipeMatch:           "|~",
	tokPipeExact:           "|=",
	tokPipePattern:         "|>",
	tokOpenParen:           "(",
	tokCloseParen:          ")",
	tokBy:                  "by",
	tokWithout:             "without",
	tokCountOverTime:       "COUNT_OVER_TIME",
	tokRate:                "RATE",
	tokRateCounter:         "RATE_COUNTER",
	tokSum:                 "SUM",
	tokSort:                "SORT",
	tokSortDesc:            "SORT_DESC",
	tokAvg:                 "AVG",
	tokMax:                 "MAX",
	tokMin:                 "MIN",
	tokCount:               "COUNT",
	tokStddev:              "STDDEV",
	tokStdvar:              "STDVAR",
	tokBottomK:             "BOTTOMK",
	tokTopK:                "TOPK",
	tokApproxTopK:          "APPROX_TOPK",
	tokBytesOverTime:       "BYTES_OVER_TIME",
	tokBytesRate:           "BYTES_RATE",
	tokBool:                "bool",
	tokJSON:                "json",
	tokRegexp:              "regexp",
	tokLogfmt:              "logfmt",
	tokPipe:                "|",
	tokLineFmt:             "line_format",
	tokLabelFmt:            "label_format",
	tokUnwrap:              "unwrap",
	tokAvgOverTime:         "AVG_OVER_TIME",
	tokSumOverTime:         "SUM_OVER_TIME",
	tokMinOverTime:         "MIN_OVER_TIME",
	tokMaxOverTime:         "MAX_OVER_TIME",
	tokStdvarOverTime:      "STDVAR_OVER_TIME",
	tokStddevOverTime:      "STDDEV_OVER_TIME",
	tokQuantileOverTime:    "QUANTILE_OVER_TIME",
	tokBytesConv:           "BYTES_CONV",
	tokDurationConv:        "DURATION_CONV",
	tokDurationSecondsConv: "DURATION_SECONDS_CONV",
	tokFirstOverTime:       "FIRST_OVER_TIME",
	tokLastOverTime:        "LAST_OVER_TIME",
	tokAbsentOverTime:      "ABSENT_OVER_TIME",
	tokVector:              "VECTOR",
	tokLabelReplace:        "label_replace",
	tokUnpack:              "unpack",
	tokOffset:              "offset",
	tokPattern:             "pattern",
	tokIP:                  "ip",
	tokOn:                  "on",
	tokIgnoring:            "ignoring",
	tokGroupLeft:           "group_left",
	tokGroupRight:          "group_right",
	tokDecolorize:          "decolorize",
	tokDrop:                "drop",
	tokKeep:                "keep",
	tokOr:                  "or",
	tokAnd:                 "and",
	tokUnless:              "unless",
	tokCmpEq:               "==",
	tokNeq:                 "!=",
	tokLt:                  "<",
	tokLte:                 "<=",
	tokGt:                  ">",
	tokGte:                 ">=",
	tokAdd:                 "+",
	tokSub:                 "-",
	tokMul:                 "*",
	tokDiv:                 "/",
	tokMod:                 "%",
	tokPow:                 "^",
}

func (k tokenKind) String() string { return tokenNames[k] }

// keywords are words that are always tokens, whatever follows them
// (case-insensitive, as in Loki): they can never be label names.
var keywords = map[string]tokenKind{
	"by":           tokBy,
	"without":      tokWithout,
	"bool":         tokBool,
	"offset":       tokOffset,
	"on":           tokOn,
	"ignoring":     tokIgnoring,
	"group_left":   tokGroupLeft,
	"group_right":  tokGroupRight,
	"or":           tokOr,
	"and":          tokAnd,
	"unless":       tokUnless,
	"json":         tokJSON,
	"regexp":       tokRegexp,
	"logfmt":       tokLogfmt,
	"unpack":       tokUnpack,
	"pattern":      tokPattern,
	"label_format": tokLabelFmt,
	"line_format":  tokLineFmt,
	"decolorize":   tokDecolorize,
	"drop":         tokDrop,
	"keep":         tokKeep,
	"unwrap":       tokUnwrap,
}

// functions are words that are tokens only when a function call follows them
// ("(" or "by (" or "without ("); elsewhere they are identifiers, so that
// `| rate > 5` filters on a label called rate.
var functions = map[string]tokenKind{
	OpRangeTypeRate:        tokRate,
	OpRangeTypeRateCounter: tokRateCounter,
	OpRangeTypeCount:       tokCountOverTime,
	OpRangeTypeBytesRate:   tokBytesRate,
	OpRangeTypeBytes:       tokBytesOverTime,
	OpRangeTypeAvg:         tokAvgOverTime,
	OpRangeTypeSum:         tokSumOverTime,
	OpRangeTypeMin:         tokMinOverTime,
	OpRangeTypeMax:         tokMaxOverTime,
	OpRangeTypeStdvar:      tokStdvarOverTime,
	OpRangeTypeStddev:      tokStddevOverTime,
	OpRangeTypeQuantile:    tokQuantileOverTime,
	OpRangeTypeFirst:       tokFirstOverTime,
	OpRangeTypeLast:        tokLastOverTime,
	OpRangeTypeAbsent:      tokAbsentOverTime,
	OpTypeVector:           tokVector,
	OpTypeSum:              tokSum,
	OpTypeAvg:              tokAvg,
	OpTypeMax:              tokMax,
	OpTypeMin:              tokMin,
	OpTypeCount:            tokCount,
	OpTypeStddev:           tokStddev,
	OpTypeStdvar:           tokStdvar,
	OpTypeBottomK:          tokBottomK,
	OpTypeTopK:             tokTopK,
	OpTypeSort:             tokSort,
	OpTypeSortDesc:         tokSortDesc,
	OpTypeApproxTopK:       tokApproxTopK,
	OpLabelReplace:         tokLabelReplace,
	OpConvBytes:            tokBytesConv,
	OpConvDuration:         tokDurationConv,
	OpConvDurationSeconds:  tokDurationSecondsConv,
	OpFilterIP:             tokIP,
}

// rangeOps and vectorOps map function tokens to the operation they name.
var (
	rangeOps = map[tokenKind]string{
		tokCountOverTime:    OpRangeTypeCount,
		tokRate:             OpRangeTypeRate,
		tokRateCounter:      OpRangeTypeRateCounter,
		tokBytesOverTime:    OpRangeTypeBytes,
		tokBytesRate:        OpRangeTypeBytesRate,
		tokAvgOverTime:      OpRangeTypeAvg,
		tokSumOverTime:      OpRangeTypeSum,
		tokMinOverTime:      OpRangeTypeMin,
		tokMaxOverTime:      OpRangeTypeMax,
		tokStdvarOverTime:   OpRangeTypeStdvar,
		tokStddevOverTime:   OpRangeTypeStddev,
		tokQuantileOverTime: OpRangeTypeQuantile,
		tokFirstOverTime:    OpRangeTypeFirst,
		tokLastOverTime:     OpRangeTypeLast,
		tokAbsentOverTime:   OpRangeTypeAbsent,
	}
	vectorOps = map[tokenKind]string{
		tokSum:        OpTypeSum,
		tokAvg:        OpTypeAvg,
		tokCount:      OpTypeCount,
		tokMax:        OpTypeMax,
		tokMin:        OpTypeMin,
		tokStddev:     OpTypeStddev,
		tokStdvar:     OpTypeStdvar,
		tokBottomK:    OpTypeBottomK,
		tokTopK:       OpTypeTopK,
		tokSort:       OpTypeSort,
		tokSortDesc:   OpTypeSortDesc,
		tokApproxTopK: OpTypeApproxTopK,
	}
	binOps = map[tokenKind]string{
		tokOr:     OpTypeOr,
		tokAnd:    OpTypeAnd,
		tokUnless: OpTypeUnless,
		tokCmpEq:  OpTypeCmpEQ,
		tokNeq:    OpTypeNEQ,
		tokLt:     OpTypeLT,
		tokLte:    OpTypeLTE,
		tokGt:     OpTypeGT,
		tokGte:    OpTypeGTE,
		tokAdd:    OpTypeAdd,
		tokSub:    OpTypeSub,
		tokMul:    OpTypeMul,
		tokDiv:    OpTypeDiv,
		tokMod:    OpTypeMod,
		tokPow:    OpTypePow,
	}
	lineFilterOps = map[tokenKind]LineMatchType{
		tokPipeExact:   LineMatchEqual,
		tokNeq:         LineMatchNotEqual,
		tokPipeMatch:   LineMatchRegexp,
		tokNre:         LineMatchNotRegexp,
		tokPipePattern: LineMatchPattern,
		tokNpa:         LineMatchNotPattern,
	}
)

// token is one lexical token. Line and Col are where Loki reports an error
// at this token: 1-based, except that Line is 0 for the tokens Loki's lexer
// reads ahead to complete (two-character operators, durations, bytes, ranges
// and parser flags), a quirk kept so that messages match.
type token struct {
	kind tokenKind
	// text is the source text, except for strings (the unquoted value) and
	// errors (the message).
	text      string
	dur       time.Duration
	bytes     uint64
	line, col int
}
