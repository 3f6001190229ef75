"""One reason's text evidence: fixed phrases, an optional regular expression, exclusions.

What matches (the plain form, :func:`plain_match`): a phrase occurs in the text, and where
the phrase starts (ends) with a letter or digit, no letter or digit of the text comes right
before (after) it: "host unknown" is not found in "ghost unknown", nor "go away" in "ago
awaynow". A top-level alternative of the pattern matches where ``re.search`` finds it, and
where it starts with a letter or digit, only at the start of a word. ``unless`` phrases are
plain substrings.

Speed: a diagnostic is tried against hundreds of phrases and alternatives. Each phrase is
indexed by its longest word and each top-level alternative of the pattern by its leading
word when that word is whole in every match (followed by a character that is no letter or
digit); only those whose word occurs in the text as a token are tried. Because matches
start and end at word boundaries, every word of a phrase, and an alternative's whole
leading word, is a token of any text they match: the index skips only what cannot match.
Other alternatives are always tried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LEADING_WORD = re.compile(r"[a-z0-9]+")
# A pattern alternative "starts with a plain word" when it begins with letters/digits
# followed by what can only match a character that is no letter or digit: a space class, a
# literal dot/colon/quote class, an escaped punctuation character, \s, \W or \b. The word is
# then whole in every match, and a token of the text. (Anything else after the letters, like
# "non[- ]?existent", "said:", "rejected(?:..." or a lone word, leaves the alternative tried
# always.) The word is possessive, so no shorter prefix of it is ever tried, and starts where
# no letter or digit precedes it (linear when searched, as the regex audit does).
_PLAIN_START = re.compile(r"(?<![a-z0-9])([a-z0-9]++)(?:\[ \]|\[[.:'\"]\]|\\[^a-zA-Z0-9]|\\[sWb])")
WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
# Put before an alternative that starts with a letter or digit: it matches at a word start.
WORD_START = "(?<![a-z0-9])"


IndexEntry = tuple[tuple[str, ...], re.Pattern[str] | None]


# Every byte but [a-z0-9] -> space: the tokens are then what str.split() returns.
_SPACE_OUT = bytes(c if 0x30 <= c <= 0x39 or 0x61 <= c <= 0x7A else 0x20 for c in range(256))


def tokens_of(text: str) -> frozenset[str]:
    """The word tokens (runs of [a-z0-9]) of a lower-cased text."""
    # Same tokens as re.findall("[a-z0-9]+", text), several times faster: bytes.translate is one table
    # lookup per character. Characters beyond latin-1 become "?", which is no token character.
    return frozenset(token_list(text))


def token_list(text: str) -> list[str]:
    """The word tokens of a lower-cased text, in order, repeated ones included."""
    spaced = text.encode("latin-1", "replace").translate(_SPACE_OUT).decode("ascii")
    return spaced.split()


@dataclass(frozen=True, slots=True)
class TextMatcher:
    """Matches lower-cased, whitespace-squeezed diagnostic text."""

    substrings: tuple[str, ...] = ()
    pattern: str = ""
    unless: tuple[str, ...] = ()
    # word -> (phrases starting with it, pattern alternatives starting with it)
    _index: dict[str, IndexEntry] = field(init=False, repr=False)
    _words: frozenset[str] = field(init=False, repr=False)  # the keys of _index
    _always: re.Pattern[str] | None = field(init=False, repr=False)
    # One literal per alternative of ``_always`` that each of its matches contains; None
    # when some alternative has none. A text with none of them is not searched.
    _always_needs: tuple[str, ...] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_word: dict[str, list[str]] = {}
        always: list[str] = []
        for phrase in self.substrings:
            if not phrase:
                continue
            # Indexed by its longest word (the rarest, usually): any word of a phrase that
            # is found must be a token of the text.
            words = _LEADING_WORD.findall(phrase)
            if words:
                by_word.setdefault(max(words, key=len), []).append(phrase)
            else:
                always.append(phrase)
        rx_by_word, rx_always = _index_pattern(self.pattern) if self.pattern else ({}, [])
        index = {
            word: (tuple(by_word.get(word, ())), rx_by_word.get(word))
            for word in set(by_word) | set(rx_by_word)
        }
        # Phrases without a word have no letter or digit at either end: plain substrings.
        everywhere = [re.escape(phrase) for phrase in always] + rx_always
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_words", frozenset(index))
        object.__setattr__(
            self, "_always", re.compile("|".join(everywhere)) if everywhere else None
        )
        per_alternative = [_needed_literals(alternative) for alternative in everywhere]
        needs = tuple(literal for literals in per_alternative for literal in literals)
        object.__setattr__(self, "_always_needs", needs if all(per_alternative) else None)

    @property
    def tries_always(self) -> bool:
        """Whether some phrase or alternative is tried whatever the words of the text."""
        return self._always is not None

    @property
    def always_needs(self) -> tuple[str, ...] | None:
        """Literals one of which a text has to contain for the always-tried patterns to
        match; None when they cannot be told or nothing is tried always."""
        return self._always_needs

    @property
    def words(self) -> frozenset[str]:
        """The words of the index: a text has to have one of them as a token for an entry
        of the index to be tried."""
        return self._words

    def matches_words(self, text: str, words: frozenset[str]) -> bool:
        """Like :meth:`matches`; ``words`` are the text's tokens, or those of them that are in
        some index (the others have no entry)."""
        # Speed: most reasons have no word of a given text and nothing tried always; the set
        # test runs in C, and only the entries of the common words are looked at.
        always = self._always
        if always is None and self._words.isdisjoint(words):
            return False
        if self.unless and any(map(text.__contains__, self.unless)):
            return False
        if always is not None:
            # Searched when the text has one of the literals ("" when they cannot be told).
            for literal in self._always_needs or ("",):
                if literal in text:
                    if always.search(text) is not None:
                        return True
                    break
        index = self._index
        for word in self._words & words:
            phrases, pattern = index[word]
            for phrase in phrases:
                if phrase in text and occurs_as_words(text, phrase):
                    return True
            if pattern is not None and pattern.search(text) is not None:
                return True
        return False

    def matches(self, text: str, tokens: frozenset[str] | None = None) -> bool:
        if not text:
            return False
        return self.matches_words(text, tokens if tokens is not None else tokens_of(text))


def occurs_as_words(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` with no letter or digit of the text glued to a
    letter or digit at either end of it."""
    check_before = phrase[0] in WORD_CHARS
    check_after = phrase[-1] in WORD_CHARS
    at = text.find(phrase)
    while at >= 0:
        end = at + len(phrase)
        if (not check_before or at == 0 or text[at - 1] not in WORD_CHARS) and (
            not check_after or end == len(text) or text[end] not in WORD_CHARS
        ):
            return True
        at = text.find(phrase, at + 1)
    return False


def at_word_start(alternative: str) -> str:
    """``alternative`` made to match only at a word start when it starts with a letter or
    digit (see the module docstring)."""
    return WORD_START + alternative if alternative[:1] in WORD_CHARS else alternative


def plain_match(matcher: TextMatcher, text: str) -> bool:
    """What ``matcher`` matches, read from its phrases and pattern without any index (the
    reference every fast form is checked against)."""
    if not text or any(excluded in text for excluded in matcher.unless):
        return False
    if any(occurs_as_words(text, phrase) for phrase in matcher.substrings if phrase):
        return True
    return any(
        re.search(at_word_start(alternative), text) is not None
        for alternative in alternatives(matcher.pattern)
    )


def _index_pattern(pattern: str) -> tuple[dict[str, re.Pattern[str]], list[str]]:
    """Split a VERBOSE pattern into top-level alternatives indexed by their leading word."""
    alternatives = _top_level_alternatives(_strip_verbose(pattern))
    by_word: dict[str, list[str]] = {}
    always: list[str] = []
    for alternative in alternatives:
        plain = _PLAIN_START.match(alternative)
        if plain and not alternative.startswith(plain.group(1) + "?"):
            by_word.setdefault(plain.group(1), []).append(at_word_start(alternative))
        else:
            always.append(at_word_start(alternative))
    compiled = {word: re.compile("|".join(parts)) for word, parts in by_word.items()}
    return compiled, always


def alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a VERBOSE pattern, white space and comments dropped."""
    return _top_level_alternatives(_strip_verbose(pattern)) if pattern else []


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """One literal per top-level alternative of ``pattern`` (not VERBOSE) that each of its
    matches contains; None when some alternative has none. A text containing none of them
    cannot match."""
    needs = tuple(_required_literal(part) for part in _top_level_alternatives(pattern))
    return needs if needs and all(needs) else None


_QUANTIFIERS = ("?", "*", "+", "{")
_INLINE_FLAGS = re.compile(r"\(\?[aiLmsux]")


def _required_literal(alternative: str) -> str:
    """The longest run of characters every match of ``alternative`` contains literally ("" when
    none is certain). Conservative: only plain characters, one-character classes like ``[ ]``
    and escaped punctuation count; a group, a class, a quantified character or any other
    construct ends the run (groups and classes are skipped whole)."""
    if _INLINE_FLAGS.search(alternative) or len(_top_level_alternatives(alternative)) != 1:
        return ""  # (?i) and friends change what a literal matches; "a|b" is two alternatives
    runs = [""]
    index = 0
    while index < len(alternative):
        char = alternative[index]
        literal: str | None = None
        end = index + 1
        if char == "\\":
            escaped = alternative[index + 1 : index + 2]
            if escaped and not escaped.isalnum():
                literal = escaped
            end = index + 2
        elif char == "[":
            member = alternative[index + 1 : index + 2]
            if alternative[index + 2 : index + 3] == "]" and member not in ("", "^", "\\", "]"):
                literal, end = member, index + 3
            else:
                end = _class_end(alternative, index) + 1
        elif char == "(":
            closing = _closing(alternative, index)
            end = len(alternative) if closing < 0 else closing + 1
        elif char == "{":
            closing = alternative.find("}", index)
            end = len(alternative) if closing < 0 else closing + 1
        elif char not in ".^$*+?|)]}":
            literal = char
        if literal is not None and alternative[end : end + 1] not in _QUANTIFIERS:
            runs[-1] += literal
        else:
            runs.append("")
        index = max(end, index + 1)
    return max(runs, key=len)


def _needed_literals(alternative: str) -> tuple[str, ...]:
    """Literals one of which every match of ``alternative`` contains (() when none is certain):
    its longest literal run (see :func:`_required_literal`) or, when their shortest one is
    longer, the words of a group of plain literals like ``(?:missing|invalid)``."""
    run = _required_literal(alternative)
    best: tuple[str, ...] = (run,) if run else ()
    if _INLINE_FLAGS.search(alternative) or len(_top_level_alternatives(alternative)) != 1:
        return best
    index = 0
    while index < len(alternative):  # the top level only: groups and classes are skipped
        char = alternative[index]
        if char == "\\":
            index += 2
        elif char == "[":
            index = _class_end(alternative, index) + 1
        elif char == "(":
            closing = _closing(alternative, index)
            if closing < 0:
                break
            if alternative.startswith("(?:", index) and (
                alternative[closing + 1 : closing + 2] not in _QUANTIFIERS
            ):
                parts = alternative[index + 3 : closing].split("|")
                words = [word for word in map(_literal_of, parts) if word]
                if len(words) == len(parts) and min(map(len, words)) > min(
                    map(len, best), default=0
                ):
                    best = tuple(words)
            index = closing + 1
        else:
            index += 1
    return best


def _literal_of(fragment: str) -> str | None:
    """The string ``fragment`` matches when it is made of plain characters, escaped
    punctuation and one-character classes only; None otherwise."""
    out: list[str] = []
    index = 0
    while index < len(fragment):
        char = fragment[index]
        if char == "\\":
            escaped = fragment[index + 1 : index + 2]
            if not escaped or escaped.isalnum():
                return None
            out.append(escaped)
            index += 2
        elif char == "[":
            member = fragment[index + 1 : index + 2]
            if fragment[index + 2 : index + 3] != "]" or member in ("", "^", "\\", "]"):
                return None
            out.append(member)
            index += 3
        elif char in ".^$*+?|()[]{}":
            return None
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _class_end(pattern: str, open_at: int) -> int:
    """Index of the "]" closing the character class opened at ``open_at`` (last index when
    unclosed); "[]...]" and "[^]...]" keep a literal "]" as the first member."""
    index = open_at + 1
    if pattern[index : index + 1] == "^":
        index += 1
    if pattern[index : index + 1] == "]":
        index += 1
    while index < len(pattern):
        if pattern[index] == "\\":
            index += 2
            continue
        if pattern[index] == "]":
            return index
        index += 1
    return len(pattern) - 1


def _strip_verbose(pattern: str) -> str:
    """Drop VERBOSE white space and comments (outside character classes)."""
    out: list[str] = []
    in_class = escaped = in_comment = False
    for char in pattern:
        if in_comment:
            in_comment = char != "\n"
            continue
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif in_class:
            out.append(char)
            in_class = char != "]"
        elif char == "[":
            out.append(char)
            in_class = True
        elif char == "#":
            in_comment = True
        elif not char.isspace():
            out.append(char)
    return "".join(out)


def _top_level_alternatives(pattern: str) -> list[str]:
    """The alternatives of ``(?>a|b|c)`` / ``a|b|c`` at nesting depth zero."""
    if pattern.startswith(("(?>", "(?:")) and _closing(pattern, 0) == len(pattern) - 1:
        pattern = pattern[3:-1]
    return [part for part in split_top_level(pattern) if part]


def split_top_level(pattern: str) -> list[str]:
    """``pattern`` cut at every "|" outside groups and classes, empty alternatives kept."""
    parts: list[str] = []
    depth, start, index = 0, 0, 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # "[]..." and "[^]..." keep a literal "]" as the first member.
            if pattern[index + 1 : index + 2] == "]":
                index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    parts.append(pattern[start:])
    return parts


def _closing(pattern: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at ``open_at`` (-1 when unbalanced)."""
    depth = 0
    in_class = False
    index = open_at
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1
