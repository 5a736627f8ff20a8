package seal

import "encoding/binary"

// A faster base64url (no padding) encoder and decoder for Seal and Open.
//
// Both produce and accept exactly what encoding/base64.RawURLEncoding (and,
// for decoding, its Strict form) produce and accept: they handle whole
// groups themselves and hand the last, partial group to encoding/base64,
// which keeps the strict checks on the final characters. Because base64
// encodes each 3-byte group as 4 characters independently of the others,
// splitting a value at a group boundary changes nothing. The tests compare
// both with encoding/base64 on every length from 0 to 600 and under fuzzing
// (TestBase64MatchesStdlib, FuzzBase64).
//
// Everything they see is public: the header, ciphertext and tag on the way
// out, the client-supplied text on the way in. The table lookups therefore
// leak nothing that is not already on the wire, so data-dependent memory
// access is acceptable here (it would not be for key or plaintext bytes).
//
// Why: encoding/base64 looks up one character per 6 bits with a bounds
// check each time and accounted for about a fifth of Seal. encodePairs maps
// 12 bits to two characters at once (an 8 KiB table), so a 6-byte group is
// four lookups and one 8-byte store.

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

var (
	// encodePairs[v] is the two characters of the 12-bit value v, first
	// character in the low byte (so a little-endian store writes it first).
	encodePairs [4096]uint16
	// decodeMap[c] is the 6-bit value of character c, or 0xff.
	decodeMap [256]byte
)

func init() {
	for v := range encodePairs {
		encodePairs[v] = uint16(alphabet[v>>6]) | uint16(alphabet[v&63])<<8
	}
	for i := range decodeMap {
		decodeMap[i] = 0xff
	}
	for i := range len(alphabet) {
		decodeMap[alphabet[i]] = byte(i)
	}
}

// encode64 writes the base64url text of src to dst, which must be exactly
// enc.EncodedLen(len(src)) bytes long.
func encode64(dst, src []byte) {
	// Six source bytes make eight characters: read them as the top 48 bits
	// of a big-endian word (eight bytes must be readable, so stop while at
	// least eight remain), write the characters in one 8-byte store.
	si, di := 0, 0
	for len(src)-si >= 8 && len(dst)-di >= 8 {
		w := binary.BigEndian.Uint64(src[si:])
		out := uint64(encodePairs[(w>>52)&0xfff]) |
			uint64(encodePairs[(w>>40)&0xfff])<<16 |
			uint64(encodePairs[(w>>28)&0xfff])<<32 |
			uint64(encodePairs[(w>>16)&0xfff])<<48
		binary.LittleEndian.PutUint64(dst[di:], out)
		si += 6
		di += 8
	}
	// Whole 3-byte groups left: two lookups each.
	for len(src)-si >= 3 {
		v := uint(src[si])<<16 | uint(src[si+1])<<8 | uint(src[si+2])
		binary.LittleEndian.PutUint16(dst[di:], encodePairs[v>>12])
		binary.LittleEndian.PutUint16(dst[di+2:], encodePairs[v&0xfff])
		si += 3
		di += 4
	}
	if si < len(src) {
		enc.Encode(dst[di:], src[si:])
	}
}

// decode64 decodes the base64url text src into dst, which must be exactly
// enc.DecodedLen(len(src)) bytes long, with the rules of strictEnc: only
// the 64 characters of the alphabet, no padding, no line breaks, zero
// trailing bits. It reports whether src was valid; on false, dst holds
// garbage.
func decode64(dst []byte, src string) bool {
	si, di := 0, 0
	// Eight characters make six bytes; write them with one 8-byte store
	// while the destination has room for the two spare bytes, which the
	// next group (or the tail) overwrites.
	for len(src)-si >= 8 && len(dst)-di >= 8 {
		s := src[si : si+8]
		a, b, c, d := decodeMap[s[0]], decodeMap[s[1]], decodeMap[s[2]], decodeMap[s[3]]
		e, f, g, h := decodeMap[s[4]], decodeMap[s[5]], decodeMap[s[6]], decodeMap[s[7]]
		if (a|b|c|d|e|f|g|h)&0xc0 != 0 {
			return false
		}
		w := uint64(a)<<58 | uint64(b)<<52 | uint64(c)<<46 | uint64(d)<<40 |
			uint64(e)<<34 | uint64(f)<<28 | uint64(g)<<22 | uint64(h)<<16
		binary.BigEndian.PutUint64(dst[di:], w)
		si += 8
		di += 6
	}
	for len(src)-si >= 4 {
		a, b, c, d := decodeMap[src[si]], decodeMap[src[si+1]], decodeMap[src[si+2]], decodeMap[src[si+3]]
		if (a|b|c|d)&0xc0 != 0 {
			return false
		}
		v := uint(a)<<18 | uint(b)<<12 | uint(c)<<6 | uint(d)
		dst[di], dst[di+1], dst[di+2] = byte(v>>16), byte(v>>8), byte(v)
		si += 4
		di += 3
	}
	if si == len(src) {
		return di == len(dst)
	}
	// The last 2 or 3 characters (or an invalid single one): encoding/base64
	// applies the strict trailing-bits rule. It would skip CR and LF, so
	// refuse them first.
	tail := src[si:]
	for i := range len(tail) {
		if tail[i] == '\r' || tail[i] == '\n' {
			return false
		}
	}
	n, err := strictEnc.Decode(dst[di:], []byte(tail))
	return err == nil && di+n == len(dst)
}
