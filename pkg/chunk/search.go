package chunk

import "bytes"

// finder searches for one literal. bytes.Index anchors its search on the
// literal's first byte, which in log text is often a digit or a common
// letter; a finder anchors on the literal's rarest byte instead, found
// with the vectorised bytes.IndexByte, and compares the whole literal
// only where that byte is. If that byte turns out to be common in the
// text searched, it falls back to bytes.Index.
type finder struct {
	lit []byte
	k   int // offset of the rarest byte
	k2  int // offset of the second rarest byte, checked before the rest
}

func newFinder(lit []byte) finder {
	f := finder{lit: lit}
	for i, c := range lit {
		if byteRank[c] < byteRank[lit[f.k]] {
			f.k = i
		}
	}
	f.k2 = -1
	for i, c := range lit {
		if i != f.k && (f.k2 < 0 || byteRank[c] < byteRank[lit[f.k2]]) {
			f.k2 = i
		}
	}
	if f.k2 < 0 {
		f.k2 = f.k
	}
	return f
}

// index returns the offset of the first occurrence of the literal in s, or
// -1.
func (f *finder) index(s []byte) int {
	n := len(f.lit)
	if n <= 1 || len(s) < n {
		return bytes.Index(s, f.lit)
	}
	c, c2 := f.lit[f.k], f.lit[f.k2]
	last := len(s) - n + f.k // the last offset the rare byte can have
	misses := 0
	for i := f.k; i <= last; {
		o := bytes.IndexByte(s[i:last+1], c)
		if o < 0 {
			return -1
		}
		i += o
		start := i - f.k
		if s[start+f.k2] == c2 && bytes.Equal(s[start:start+n], f.lit) {
			return start
		}
		i++
		// More than one false candidate per 32 bytes: the byte is common
		// here. Every start before i-f.k has been ruled out.
		if misses++; misses > 8 && misses > (i>>5) {
			if j := bytes.Index(s[i-f.k:], f.lit); j >= 0 {
				return i - f.k + j
			}
			return -1
		}
	}
	return -1
}

// byteRank orders bytes by how often they occur in log text, 0 for the
// rarest. It was measured once over the Loghub and elastic/examples
// samples (where testdata's corpora come from) and the lines that
// tools/bench generates, each source weighing the same; bytes that never
// occurred rank by value.
var byteRank = [256]uint8{
	0, 1, 2, 3, 4, 5, 6, 7, 8, 166, 220, 9, 10, 210, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
	255, 160, 232, 187, 173, 163, 164, 170, 199, 198, 180, 175, 221, 237, 241, 223,
	253, 252, 247, 238, 236, 239, 234, 233, 230, 228, 243, 181, 168, 217, 165, 167,
	176, 196, 193, 201, 197, 200, 204, 192, 186, 206, 191, 185, 194, 207, 211, 202,
	195, 172, 205, 212, 208, 188, 174, 190, 169, 162, 184, 216, 161, 215, 29, 218,
	30, 249, 219, 240, 242, 254, 226, 224, 225, 244, 177, 222, 235, 227, 246, 250,
	229, 182, 248, 245, 251, 231, 214, 203, 213, 209, 183, 178, 189, 179, 171, 31,
	32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
	48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
	64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
	80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
	96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
	112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
	128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143,
	144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159,
}
