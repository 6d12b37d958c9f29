// Text that came from outside (a hook's output, a CA's problem detail, a
// certificate's subject) before it is stored, serialized or shown:
//  - JSON (RFC 8259 §8.1) and the inventory hold UTF-8 only, so captured bytes
//    are made valid UTF-8 once, where they enter the program;
//  - a terminal interprets control characters, so what a person reads is
//    escaped: a CA's "detail" holding "\x1b[2J" must not clear the screen, and
//    a U+202E in a hook's output must not make the line read backwards.
#ifndef CERTKEEPER_BASE_TEXT_H_
#define CERTKEEPER_BASE_TEXT_H_

#include <string>
#include <string_view>

namespace certkeeper {

// Valid UTF-8 (RFC 3629) is returned unchanged. Every ill-formed sequence
// (stray continuation byte, overlong form, surrogate, code point above
// U+10FFFF, sequence cut short) becomes one U+FFFD per maximal invalid subpart,
// as Unicode §3.9 "U+FFFD substitution of maximal subparts" recommends.
std::string SanitizeUtf8(std::string_view bytes);
bool IsValidUtf8(std::string_view bytes);

// The longest prefix of `text` of at most max_bytes that does not end inside a
// multibyte character of `text` (so cutting valid UTF-8 keeps it valid).
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);
// The longest suffix of `text` of at most max_bytes that does not start inside
// a multibyte character.
std::string_view Utf8Suffix(std::string_view text, size_t max_bytes);

// For one-line fields of human-readable output and text logs. Returns text
// that holds no byte a terminal acts on, written so a reader sees what was
// there: C0 controls and DEL as "\n", "\r", "\t" or "\x1b"; C1 controls
// (U+0080..U+009F) and the bidirectional formatting characters (U+061C,
// U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) as "\u202e"; a byte that is
// not part of valid UTF-8 as "\xff"; a backslash as "\\", so that the
// rendering cannot be confused with the escape of a control character.
// Every other character, printable non-ASCII included, is kept.
std::string EscapeForTerminal(std::string_view text);
// The same, for multi-line messages (an error with its hint line): "\n" is
// kept as a line break, everything else is escaped as above.
std::string EscapeLinesForTerminal(std::string_view text);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_TEXT_H_
