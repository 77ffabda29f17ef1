"""The offline request parser: deterministic rules over the catalog's own vocabulary.

What it reads, in this order (each step consumes the text it used, so later steps do not
read it twice):

1. **Clean-up**: at most ``max_chars`` characters are read (issue ``truncated``); control
   and invisible characters are removed (``control_characters``); clauses addressed to the
   system ("ignore previous instructions...", "every user's history", "you are DAN now")
   are dropped (``instructions_ignored``).
2. **References to the last list**: "the second one" -> ``reference_positions=[2]``, "more
   like that" -> the item in focus, "not that one" -> ``exclude_positions`` (and
   ``exclude_ids`` when the context has the last list). Coordinated references share one
   verb ("drop the first and the last" -> exclude 1 and -1). "That" and "it" after a title
   named in the same message point at the title, not at the list ("Parasite was amazing,
   more like that").
3. **Titles**: quoted text, text after cues ("like", "loved", "tell me about", "not like",
   "is ... on here", "with the vibe of"), the subject of an opinion ("Dune was amazing"),
   and capitalised spans, matched against the catalog's titles (exact, then rapidfuzz). An
   opinion right after a title makes it feedback ("X was awful" -> role not). A capitalised
   word no cue points at stays a word when it is an occasion ("creepy podcasts for
   Halloween").
4. **Language check**: a message that is not English keeps only its titles
   (``unsupported_language``); nothing else is guessed from it.
5. **Amounts**: durations ("under 2 hours" -> max 120; "a 40-minute drive" -> max 40;
   "about an hour" -> 45-75; "a 2-hour playlist" -> ``playlist_minutes=120``), years and
   eras ("the 90s", "early 2000s", "after 2015", "2010 or later", "recent" = the catalog's
   newest five years) and counts ("five Korean thrillers", "top 10"). A negation turns a
   bound round ("nothing over 2 hours" -> max 120, "nothing before 2000" -> from 2000). In a
   playlist request a length not said of the songs is the playlist's ("a 45-minute workout
   playlist" -> ``playlist_minutes=45``).
6. **Words**: media types, genres, tags, moods and languages from
   :mod:`assistant.parsers.vocabulary` and the catalog's labels, with negation scopes ("no
   horror", "nothing scary", "not a podcast"). A mood adds its tags and rules out its
   opposites ("lighter" -> light, feel-good, funny; not dark, bleak, scary). Only labels
   the catalog has are used.
7. **Intent**, from cue phrases and what was found.

Durations mean what ``Item.duration_min`` means: for series and podcasts, one episode.

Example:
    >>> from retrieval.demo import load_demo_catalog
    >>> parser = RulesParser(load_demo_catalog())
    >>> r = parser.parse("something like Arrival but lighter, no horror")
    >>> r.intent.value, r.like_ids, r.exclude_genres, r.moods
    ('similar', ['mv-arrival-2016'], ['horror'], [<Mood.light: 'light'>])
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from assistant.parsers.vocabulary import (
    BARE_LABELS_IGNORED,
    LANGUAGE_WORDS,
    MEDIA_WORDS,
    MOOD_WORDS,
    OCCASION_WORDS,
    SYNONYMS,
    TitleMatch,
    TitleMatcher,
    Vocabulary,
)
from retrieval.request import (
    InputIssue,
    Intent,
    Mood,
    ParseContext,
    RelativeDuration,
    RelativeYear,
    Request,
    TitleRef,
    TitleRole,
)
from retrieval.catalog import Catalog
from retrieval.models import MediaType

__all__ = ["DEFAULT_MAX_CHARS", "RulesParser"]

DEFAULT_MAX_CHARS = 1000
"""Characters of a message the parser reads; the rest is ignored (issue ``truncated``)."""

_MASK = "\x00"  # replaces consumed characters in the working copy

# --- clean-up ----------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")  # terminal escape sequences
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
                         "\u2013": "-", "\u2014": "-", "\t": " ", "\r": "\n"})
_CLAUSE_SPLIT = re.compile(r"(?<=[,;.!?\n])(?=\s|$)")
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}?\b(?:instructions?|prompts?|rules|"
    r"guidelines|directions|system|above|previous|everything)\b"
    r"|\b(?:system prompt|developer mode|jailbreak|dan mode|admin mode|sudo)\b"
    r"|\byou are now\b|\bact as (?:an? )?(?:admin|administrator|root|developer|system|dan)\b"
    # role-play that gives the system a new persona ("You are DAN", "pretend you're an AI
    # with no restrictions", "from now on you answer as...")
    r"|\bpretend\s+(?:to\s+be|(?:that\s+)?you(?:'re|\s+are|\s+have|\s+can|\s+were))\b"
    r"|\byou(?:'re|\s+are)\s+(?:now\s+)?(?:dan\b|no\s+longer\b|free\s+(?:from|of)\b|not\s+bound\b"
    r"|an?\s+(?:unrestricted|unfiltered|uncensored|jailbroken|evil|rogue)\b)"
    r"|\b(?:can\s+)?do\s+anything\s+now\b|\b(?:stay|remain)\s+in\s+character\b"
    r"|\bfrom\s+now\s+on,?\s+(?:you|act|respond|answer|reply|behave|speak)\b"
    r"|\byour\s+new\s+(?:instructions|rules|role|persona|task|prompt)\b"
    r"|\b(?:ai|assistant|model|bot|you)\b.{0,40}?\b(?:no|without)\s+(?:any\s+)?(?:restrictions|filters|"
    r"censorship|guardrails|limitations)\b"
    r"|\b(?:every|all|other|another)\s+(?:users?|persons?|people|customers?|accounts?)(?:'s|')?\b.{0,30}?"
    r"\b(?:history|histories|data|e-?mails?|passwords?|accounts?|information|info|details|"
    r"preferences|activity|logs?)\b"
    r"|\b(?:reveal|print|show|dump|list|leak|output|repeat)\b.{0,30}?\b(?:your prompt|system|"
    r"instructions|database|api[ _-]?keys?|passwords?|credentials|secrets?|tokens?)\b"
    r"|\b(?:drop|delete|truncate)\s+table\b|<\s*script\b|\bselect\s+\*\s+from\b",
    re.IGNORECASE)

# --- references to the last list -----------------------------------------------------------

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4, "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7,
             "eighth": 8, "8th": 8, "ninth": 9, "9th": 9, "tenth": 10, "10th": 10, "last": -1,
             "top": 1, "final": -1}
_REF_NOUNS = (r"ones?|films?|movies?|shows?|series|songs?|tracks?|albums?|podcasts?|books?|"
              r"audiobooks?|episodes?|picks?|options?|suggestions?|recommendations?|results?|titles?")
_ORD_ALT = "|".join(sorted(_ORDINALS, key=len, reverse=True))
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                 "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
                 "eighteen": 18, "nineteen": 19, "twenty": 20, "twenty-five": 25, "thirty": 30,
                 "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
                 "dozen": 12, "a dozen": 12, "a couple of": 2, "couple of": 2, "a couple": 2,
                 "a few": 3}
_FIRST_N = re.compile(r"\bthe\s+(?:first|top)\s+(?P<n>two|three|four|five|[2-9])(?:\s+ones)?\b")
# "the second one", "the 2nd film"; "the third" alone only before the end of a clause, so
# that titles ("The Last Dance", "The Third Man") and "the first time" stay what they are.
_ORDINAL_REF = re.compile(
    rf"\b(?P<the>the\s+)?(?P<ord>{_ORD_ALT})"
    rf"(?:\s+(?P<noun>{_REF_NOUNS})\b|(?=\s*(?:$|[.,;:!?)]|(?:and|or|but|please|is|was|looks?"
    r"|sounds?|seems?|too|then|instead|again)\b)))")
_NUMBER_REF = re.compile(r"(?:\bnumber|\bno\.|#|\boption|\bpick)\s*(?P<n>\d{1,2})\b")
_ANAPHORA = re.compile(
    rf"\b(?:that|this)\s+(?:{_REF_NOUNS})\b"
    r"|\b(?:more|something|anything|stuff|others?|things|ones|some)\s+like\s+(?:that|this|it|those|these)\b"
    r"|\b(?:loved|liked|enjoyed|hated|disliked|love|hate|seen|watched|heard|about|of)\s+(?:it|that|this)\b"
    r"(?=\s*(?:$|[.!?,;]|so\b|too\b|a lot\b|very\b|please\b|but\b|more\b|much\b))"
    r"|\b(?:not|no|nope|skip|drop|remove|hide)\s+(?:it|that|this)\b(?=\s*(?:$|[.!?,;]|please\b))")
_REF_NEGATION = re.compile(
    r"\b(?:not|no|nope|skip|drop|remove|hide|ditch|lose|scrap|toss|get\s+rid\s+of|take\s+out|"
    r"cross\s+off|pass\s+on|without|except|excluding|didn'?t\s+(?:like|enjoy)|did\s+not\s+"
    r"(?:like|enjoy)|hated?|disliked?|seen|already\s+(?:seen|watched|heard))\b")
# "the first and the last", "the second and third", "#1 or #3": one verb for all of them
_COORD_GAP = re.compile(r"\s*(?:,\s*)?(?:and|or|&|nor|plus)\s+(?:also\s+)?(?:the\s+)?")
_COORD_ORDINAL = re.compile(
    rf"\s*(?:,\s*)?(?:and|or|&|nor|plus)\s+(?:also\s+)?(?:the\s+)?(?P<ord>{_ORD_ALT})"
    rf"(?:\s+(?:{_REF_NOUNS})\b|(?=\s*(?:$|[.,;:!?)]|(?:and|or|but|please|too|then|instead|again)\b)))")
_FEEDBACK_ANAPHOR = re.compile(r"\b(?:loved|liked|enjoyed|hated|disliked|love|hate)\b")
_REF_SIMILAR = re.compile(
    r"\b(?:more|something|anything|stuff|others?|things|ones|some)(?:\s+[a-z'-]+){0,2}\s+like\b"
    r"|\bsimilar\b")

# --- titles ----------------------------------------------------------------------------------

# where a title is said to be: "is X on here?", "is X available?"
_AVAILABLE = (r"(?:available|on\s+here|here|in\s+(?:the|your)\s+(?:catalog(?:ue)?|library"
              r"|collection|app)|on\s+(?:encore|the\s+app|this\s+app|your\s+app|this\s+service))\b")
_TITLE_CUE = re.compile(
    r"\b(?:(?P<not>not\s+like|nothing\s+like|unlike|not\s+as|hated|hate|didn'?t\s+(?:like|enjoy|love)|"
    r"did\s+not\s+(?:like|enjoy|love)|disliked|dislike|not\s+a\s+fan\s+of|(?:already|have|i'?ve)\s+"
    r"(?:already\s+)?(?:seen|watched|heard|read)|except(?:\s+for)?|besides|other\s+than|apart\s+from|"
    r"anything\s+but|but\s+not|not)"
    r"|(?P<about>tell\s+me\s+(?:more\s+)?about|more\s+about|what\s+about|info(?:rmation)?\s+(?:on|about)|"
    r"details\s+(?:on|about|of)|what(?:'s|\s+is|\s+was)|who\s+(?:directed|made|wrote|sings|created|"
    r"stars\s+in|plays\s+in|narrates|hosts)|how\s+long\s+(?:is|are|was|does|do|did)"
    r"|how\s+many\s+(?:episodes|seasons|songs|tracks|chapters)\s+(?:does|do|did|is|are|has|in|of)"
    r"|(?:the\s+)?(?:runtime|run\s+time|running\s+time|length)\s+(?:of|for)"
    r"|find(?:\s+me)?|search(?:\s+for)?|look\s+up|look\s+for|do\s+you\s+have|have\s+you\s+got"
    r"|(?:looking|searching)\s+for|(?:i'?m|i\s+am)\s+after|trying\s+to\s+find"
    r"|(?:where\s+)?can\s+i\s+(?:find|get|stream|watch|hear|listen\s+to)"
    # "is Fleabag on here?", "is Blue Planet II available?"
    rf"|(?:is|are)(?=\s+[^.!?]{{1,60}}?\s+{_AVAILABLE})"
    r"|is\s+there|play|put\s+on|show\s+me|how\s+about)"
    r"|(?P<like>similar\s+to|like|in\s+the\s+vein\s+of|reminds?\s+me\s+of|along\s+the\s+lines\s+of|"
    r"in\s+the\s+style\s+of|same\s+vibe\s+as|as\s+good\s+as|reminiscent\s+of|akin\s+to|a\s+la"
    # "with the vibe of", "the same feel as", "a similar energy to"
    r"|(?:the\s+|a\s+)?(?:same\s+|similar\s+)?(?:vibes?|feel|feeling|energy|spirit|tone|atmosphere"
    r"|aesthetic)\s+(?:of|as|to)"
    r"|fans?\s+of|loved|love|liked|enjoyed|adored))"
    r"\s+")
_COMPARE_CUES = re.compile(
    r"^(?:similar|like|in\s+the|reminds?|along|same|as\s+good|reminiscent|akin|a\s+la|the\s|a\s"
    r"|vibes?|feel|energy|spirit|tone|atmosphere|aesthetic)")
_WEAK_CUES = re.compile(r"^(?:not$|what|is\s+there|find|do\s+you|search|look)")
_WINDOW_STOP = re.compile(
    r"[,;!?\"()]|\.(?:\s|$)|\s(?:but|though|although|except|without|please|only|because|so|or|since|"
    r"if|when|while|which|who|that's|instead|rather|i|i'm|i'd|we|you|lol|anything|something|"
    r"not|no|and\s+(?:no|not|nothing|something|anything|maybe|also|under|over|from))(?=\s|$)")
_SKIP_FIRST = frozenset(
    "me us you him her them it its that this those these something anything some any more one ones "
    "stuff things too very really so much better else other another same what which how good great "
    "all everything nothing is are was be been a an the my your our their his i i'm we they there "
    "here now then just only also even still either neither".split())
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_ROLE_BEFORE_NOT = re.compile(
    r"(?:\bnot|\bno|\bnothing\s+like|\bunlike|\bhated?|\bdidn'?t\s+(?:like|enjoy|love)|\bdisliked?|"
    r"\bexcept|\bbesides|\bother\s+than|\bapart\s+from|\banything\s+but|\bseen|\bwatched)\W*"
    r"(?:\w+\W+){0,2}$")
_ROLE_BEFORE_ABOUT = re.compile(
    r"(?:\babout|\bwhat(?:'s|\s+is|\s+was)|\bfind|\bsearch(?:\s+for)?|\blook\s+up|\binfo"
    r"|\bdetails|\bplay|\bwho\s+\w+|\bhow\s+long\s+(?:is|does)|\b(?:looking|searching)\s+for"
    r"|\bhave\s+you\s+got|\bi'?m\s+after|\bcan\s+i\s+\w+)\W*(?:\w+\W+){0,2}$")
_ROLE_BEFORE_FEEDBACK = re.compile(r"\b(?:loved?|liked|enjoyed|adored|fan\s+of)\W*(?:\w+\W+){0,2}$")
_ADVERBS = (r"(?:(?:so|really|absolutely|just|truly|pretty|quite|very|totally|utterly|incredibly|"
            r"genuinely|honestly|seriously|such|kind\s+of|kinda|a\s+bit|way|far|rather|actually)\s+)*")
_GOOD = (r"(?:amazing|lovely|great|good|brilliant|fantastic|awesome|wonderful|excellent|superb|"
         r"beautiful|gorgeous|stunning|incredible|perfect|fun|enjoyable|delightful|charming|sweet|"
         r"hilarious|gripping|masterful|phenomenal|outstanding|spectacular|magical|adorable|cute|"
         r"moving|touching|mind-blowing|fabulous|terrific|cool|solid|underrated|a\s+masterpiece|"
         r"a\s+(?:real\s+)?(?:blast|gem|delight|joy|treat|banger|classic)|(?:the|my)\s+(?:best|"
         r"fav(?:ou?rite)?))")
_BAD = (r"(?:awful|terrible|bad|boring|dull|meh|overrated|disappointing|horrible|horrendous|"
        r"rubbish|trash|garbage|mediocre|tedious|pretentious|dreadful|painful|unwatchable|unlistenable|"
        r"stupid|dumb|annoying|cringe|cringey|forgettable|bland|lame|weak|underwhelming|poor|"
        r"too\s+(?:long|slow|scary|dark|weird|much|violent|sad|depressing)|"
        r"not\s+(?:good|great|for\s+me|my\s+thing|worth\s+it)|"
        r"a\s+(?:(?:huge|big|total|real)\s+)?(?:letdown|disappointment|snooze|mess|waste\s+of\s+time)"
        r"|(?:the|my\s+least)\s+(?:worst|fav(?:ou?rite)?))")
# "Parasite was amazing", "The Office is awful": an opinion of the title just named
_OPINION_TAIL = (
    r"(?:\s+(?:[\w-]+\s+)?(?:shows?|films?|movies?|series|albums?|songs?|tracks?|books?|audiobooks?"
    r"|podcasts?|things?|ones?|watch|listen|read))?(?:\s+(?:ever(?:\s+made)?|of\s+all\s+time"
    r"|(?:that\s+)?i'?ve\s+(?:ever\s+)?(?:seen|heard|read|watched)|in\s+years))?")
_OPINION_AFTER = re.compile(
    rf"^\s*(?:was|is|were|are|'s)\s+(?:an?\s+|the\s+)?{_ADVERBS}(?:(?P<good>{_GOOD})|(?P<bad>{_BAD}))"
    rf"(?![\w-]){_OPINION_TAIL}(?![\w-])")
# "honestly hereditary was dreadful": a lower-case title only as the subject of an opinion
_OPINION_SUBJECT = re.compile(
    rf"(?:^|[.!?,;]\s*)(?:(?:honestly|personally|ok|okay|well|wow|man|so|and|but|yeah|i\s+think|"
    rf"i\s+thought|i\s+found\s+that)\s*,?\s+)*(?P<span>[^\W\d_][^.!?,;\x00]{{0,60}}?)"
    rf"(?=\s+(?:was|is|were|'s)\s+(?:an?\s+|the\s+)?{_ADVERBS}(?:{_GOOD}|{_BAD})(?![\w-]))")
# what the person says of a title they just gave an opinion of: "I hated Hereditary, far too scary"
_OPINION_REASON = re.compile(
    r"^\s*[,;:-]?\s*(?:(?:it|that)(?:'s|\s+was|\s+is)\s+)?(?:(?:way|far|much|just|a\s+bit|kind\s+of)\s+)?"
    r"(?:too|so|really|very|such\s+an?)\s+[\w-]+(?:\s+(?:and|but)\s+(?:too\s+|so\s+)?[\w-]+)?"
    r"\s*(?=$|[.!?;,])")
_PLACE_AFTER = re.compile(rf"^\s*{_AVAILABLE}")
_LIKENESS_AFTER = re.compile(
    r"^\s*(?:-\s*)?(?:vibes?|energy|-?esque|-?style|type\s+(?:of\s+)?(?:stuff|things?|shows?|films?|"
    r"movies?|music))\b")
_CAP_CONNECT = frozenset("of the and a an in on at to for from with & de la le du von y is".split())
_CAP_STOP = frozenset(
    "i i'm i'd i've im id ive something some any anything give show recommend find tell what "
    "what's whats can could would please play make only more not no hi hey hello thanks thank "
    "just maybe suggest looking need want got do is are how who where when why ok okay yes "
    "let let's lets put create build search similar like loved love liked hated also and but "
    "or so if then now tonight today one two three four five six seven eight nine ten a an "
    "the my this that these those it is any".split())
_OCCASION_BEFORE = frozenset("for on at during over around until till".split())
_TITLE_VERBS = frozenset(
    "watched watch watching saw seen see heard hear read finished binged rewatched loved love "
    "liked enjoyed hated disliked adored about like as to".split())
_FAN_AFTER = re.compile(r"^['\u2019]?s?\s+(?:fans?|lovers?|listeners?|watchers?|viewers?|readers?|"
                        r"addicts?|obsessives?|vibes?|energy|style)\b|^-(?:esque|style|like)\b")
_QUOTED = re.compile(r"\"([^\"]{1,120})\"|(?<![\w])'([^']{1,120})'(?![\w])")

# --- language --------------------------------------------------------------------------------

_ENGLISH = frozenset(
    "a an the and or but not no i me my we you it is are was be to of in on for with about "
    "like something anything some any want need would could can please show give find "
    "recommend what which who how that this those these more less than from under over only "
    "just really very good great new old now tonight today film films movie movies shows "
    "series song songs music album albums podcast podcasts book books watch listen play let's "
    "lets i'm i'd i've don't love loved hate kids minutes hours hour long short funny scary "
    "similar same tell know get have has had do does did so too all one two three year years "
    "maybe else other another again thanks hi hello hey ok okay yes".split())
_FOREIGN = frozenset(
    "el los las una unos unas película películas pelicula peliculas quiero algo como para por "
    "que del años año música musica canción canciones dame recomienda recomiéndame libro "
    "sobre muy pero je veux une des les avec du est pas chanson musique quelque chose comme "
    "sur dans moi voudrais recommande ans années ich möchte einen eine der das und mit nicht "
    "ein filme etwas wie über für bitte gerne lieder sehen hören jahre voglio della di che "
    "qualcosa gli canzoni anni vorrei eu quero um uma filmes você anos músicas não och jag "
    "vill en ett med och inte het een niet ik wil zijn voor".split())

# --- amounts ---------------------------------------------------------------------------------

_NUM = (r"(?:\d+(?:[.,]\d+)?|a\s+couple\s+of|couple\s+of|an?|one|two|three|four|five|six|seven|"
        r"eight|nine|ten|eleven|twelve|fifteen|twenty-five|twenty|thirty|forty-five|forty|fifty|"
        r"sixty|ninety)")
_UNIT = r"(?P<unit>hours?|hrs?|h|minutes?|mins?|min|m)(?![a-z])"
_DURATION = re.compile(
    rf"(?<![\w.])(?:(?P<halfhour>half\s+an?\s+hour|half-hour|half\s+hour)"
    rf"|(?:between\s+)?(?:(?P<lo>{_NUM})\s*(?:-|to|and)\s*)?(?P<num>{_NUM})(?P<half>\s+and\s+a\s+half)?"
    rf"\s*-?\s*{_UNIT}(?:\s*(?:and\s+)?(?P<extra>\d{{1,2}})\s*(?:minutes?|mins?|m)?(?![\w]))?"
    rf"(?P<half2>\s+and\s+a\s+half)?)")
_PRE_MAX = re.compile(
    r"(?:under|below|less\s+than|fewer\s+than|at\s+most|max(?:imum)?(?:\s+of)?|up\s+to"
    r"|no\s+more\s+than|not\s+more\s+than|no\s+longer\s+than|not\s+longer\s+than"
    r"|shorter\s+than|within|not\s+over|<)\s*$")
_PRE_MIN = re.compile(r"(?:over|above|more\s+than|at\s+least|min(?:imum)?(?:\s+of)?|longer\s+than|"
                      r"no\s+less\s+than|no\s+shorter\s+than|not\s+under|>)\s*$")
_PRE_APPROX = re.compile(r"(?:around|about|roughly|approximately|approx\.?|circa|close\s+to|"
                         r"something\s+like|~|nearly|almost)\s*$")
_PRE_PLAYLIST = re.compile(
    r"(?:playlist|mix|mixtape)\s+(?:of|for|lasting|that\s+lasts|around|about)?\s*$")
_POST_MAX = re.compile(
    r"^\s*(?:max(?:imum)?|tops|or\s+less|or\s+under|or\s+shorter|at\s+(?:the\s+)?most)\b")
_POST_MIN = re.compile(r"^\s*(?:or\s+more|or\s+longer|min(?:imum)?|at\s+least|plus\b|\+)")
_POST_APPROX = re.compile(r"^\s*(?:or\s+so\b|-?ish\b)")
_POST_ACTIVITY = re.compile(
    r"^\s*(?:-\s*)?(?:long\s+)?(?:car\s+|train\s+|bus\s+|plane\s+|morning\s+|daily\s+)?"
    r"(?:drive|driving|commute|walk|run|jog|ride|flight|trip|journey|workout|break|lunch|bath"
    r"|session|wait|layover|nap|shift)\b")
_POST_PLAYLIST = re.compile(
    r"^\s*(?:-\s*)?(?:long\s+)?(?:(?:[a-z'-]+\s+){0,2}(?:playlist|mix|mixtape)|set)\b"
    r"|^\s+of\s+(?!the\b)")
# a length said of each item of a playlist ("songs under 5 minutes", "5 minutes each")
_ITEM_BEFORE = re.compile(
    r"\b(?:songs?|tracks?|tunes?|pieces?|episodes?|ones)\s+(?:(?:that|which)(?:'s|\s+(?:are|is|run|last))"
    r"\s+)?(?:\w+\s+){0,2}$")
_POST_ITEM = re.compile(
    r"^\s*(?:-\s*)?(?:long\s+)?(?:each|apiece|per\s+(?:song|track|piece|episode)|a\s+(?:song|track|piece))\b")
_POST_MEDIA = re.compile(
    r"^\s*(?:-\s*)?(?:long\s+)?(?:[a-z-]+\s+)?(?:podcasts?|episodes?|films?|movies?|shows?"
    r"|series|albums?|audiobooks?|songs?|tracks?|documentar(?:y|ies)|docs?)\b")
_POST_TRAIL = re.compile(
    r"^\s*(?:long\b|in\s+length\b|(?:an|per|a|each)\s+episode\b|each\b|a\s+pop\b)")
_DECADE = re.compile(
    r"(?<![\w'])(?:(?P<q>early|mid|late)[\s-]+)?(?:the\s+)?'?(?P<d>(?:1[89]|20)?\d0)'?s(?![\w])"
    r"|(?:(?P<q2>early|mid|late)[\s-]+)?(?:the\s+)?(?:nineteen[\s-]?)?(?P<w>twenties|thirties|forties|"
    r"fifties|sixties|seventies|eighties|nineties|noughties|aughts)\b")
_WORD_DECADES = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950,
                 "sixties": 1960, "seventies": 1970, "eighties": 1980, "nineties": 1990,
                 "noughties": 2000, "aughts": 2000}
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_YEAR_RANGE = re.compile(
    rf"(?:\bfrom\s+|\bbetween\s+)?(?<![\w])(?P<a>{_YEAR})"
    rf"\s*(?:-|to|and|or|through|until|till)\s*(?P<b>{_YEAR})(?![\w])")
_YEAR_CUE = re.compile(
    r"\b(?P<cue>since|after|post|newer\s+than|later\s+than|before|pre|prior\s+to|older\s+than"
    r"|earlier\s+than|until|till|released\s+in|made\s+in|from|in|of|circa|around)"
    rf"[\s-]+(?P<y>{_YEAR})(?![\w])")
_YEAR_BARE = re.compile(
    rf"(?<![\w])(?P<y>{_YEAR})(?=\s+(?:[a-z-]+\s+)?(?:films?|movies?|albums?|songs?|tracks?|shows?|"
    rf"series|podcasts?|audiobooks?|music|releases?|hits?)\b)")
_ERA_CUE = re.compile(r"(?P<cue>since|after|post|before|pre|prior\s+to|until|till|older\s+than|"
                      r"newer\s+than)[\s-]+$")
# "from 2010 onwards", "2005 or later", "2010+": open at the top; "1979 or earlier": at the bottom
_OPEN_LATER = re.compile(
    r"\s*(?:\+|(?:and|or)\s+(?:later|after|newer|beyond|up|since|onwards?|more\s+recent)\b"
    r"|onwards?\b|forwards?\b|(?:to|till|until|through)\s+(?:now|today|the\s+present|present)\b"
    r"|on\b(?=\s*(?:$|[,.;!?]|please\b|only\b|and\b|but\b)))")
_OPEN_EARLIER = re.compile(r"\s*(?:and|or)\s+(?:earlier|before|older|prior)\b")
_YEAR_OPEN = re.compile(
    r"(?:\b(?:from|since|in|starting(?:\s+(?:from|in|with))?|beginning(?:\s+(?:in|with))?"
    r"|released(?:\s+in)?|made(?:\s+in)?|recorded(?:\s+in)?|published(?:\s+in)?)[\s-]+)?"
    rf"(?<![\w])(?P<y>{_YEAR})(?![\w'])(?=(?P<later>{_OPEN_LATER.pattern})|(?P<earlier>{_OPEN_EARLIER.pattern}))")
# A negation that turns a bound round: "nothing over 2 hours" (max), "no films made before 1990"
# (min). Only these words may stand between the negation and the bound.
_BOUND_NEGATIONS = frozenset(
    "no nothing none not never nor don't dont doesn't isn't aren't won't".split())
_BOUND_FILLERS = frozenset(
    "that that's thats which is are was were be at all really made released recorded published "
    "out came come coming running lasting anything something stuff ones one things please too "
    "much way want need i from".split())
_RECENT = re.compile(r"(?<!more\s)\b(?:recent|latest|newest|brand[\s-]new|new\s+releases?)\b")
_TOP_N = re.compile(r"\btop\s+(?P<n>\d{1,3}|ten|five|twenty|three)\b")
_N_NOUN = re.compile(
    rf"(?<![\w])(?P<n>\d{{1,3}}|{'|'.join(k for k in _NUMBER_WORDS if ' ' not in k)})-"
    r"(?=(?:songs?|tracks?|films?|movies?|episodes?|albums?|podcasts?)\b)")

# --- words -----------------------------------------------------------------------------------

_TOKEN = re.compile(r"(?P<gap>\x00+)|(?P<w>[^\W_](?:[\w&'+.-]*[^\W_])?)|(?P<p>[^\w\s])")
_NEG_SINGLE = frozenset("no not without avoid avoiding skip except excluding exclude minus nothing "
                        "none never hate hated dislike disliked less nor neither don't dont "
                        "doesn't isn't aren't".split())
_NEG_MULTI: tuple[tuple[str, ...], ...] = (
    ("not", "in", "the", "mood", "for"), ("not", "really", "into"), ("not", "into"),
    ("not", "a", "fan", "of"), ("don't", "feel", "like"), ("no", "more"), ("do", "not"),
    ("anything", "but"), ("rather", "than"), ("instead", "of"), ("other", "than"),
    ("apart", "from"), ("sick", "of"), ("tired", "of"), ("enough", "of"), ("but", "not"))
_SCOPE_STOP = frozenset("but and though although however just only please instead so because "
                        "which that i we you for".split())
_SCOPE_WORDS = 5
_COUNT_NOUNS = frozenset("recommendations recommendation suggestions suggestion picks pick ideas "
                         "options titles things more ones others".split())
_COUNT_VERBS = frozenset("give show recommend suggest list pick name".split())
_TOPIC_BEFORE = frozenset({"about", "on", "regarding"})

# --- intent ----------------------------------------------------------------------------------

_TRENDING = re.compile(
    r"\b(?:trending|popular|what'?s\s+hot|hottest|top\s+charts?|charts"
    r"|most\s+(?:played|watched|popular|streamed|listened)"
    r"|(?:everyone|everybody|people)(?:'s|\s+is|\s+are)?\s+(?:watching|listening|into)"
    r"|top\s+(?:\d+|ten|five|twenty|three))\b")
_PLAYLIST = re.compile(r"\b(?:playlists?|mixtapes?|make\s+(?:me\s+)?a\s+mix|a\s+mix\s+of)\b")
_DETAILS = re.compile(
    r"\b(?:tell\s+me\s+(?:more\s+)?about|more\s+(?:info|information|details)"
    r"|details\s+(?:on|about|of)|info\s+(?:on|about)"
    r"|who\s+(?:made|directed|wrote|sings|created|stars\s+in|plays\s+in|narrates|hosts)"
    r"|how\s+long\s+(?:is|are|was|does|do|did)|how\s+many\s+(?:episodes|seasons|songs|tracks|chapters)"
    r"|runtime|run\s+time|running\s+time|length\s+of"
    r"|what(?:'s|\s+is|\s+was)|what\s+about|how\s+about)\b")
_SEARCH = re.compile(
    r"\b(?:search|look\s+up|lookup|find(?!\s+(?:me|us)\b)|do\s+you\s+have|is\s+there)\b")
_SEARCH_TITLE = re.compile(  # search when a title is the subject
    r"\b(?:find|play|put\s+on|show\s+me|have\s+you\s+got|(?:looking|searching)\s+for"
    r"|i'?m\s+after|trying\s+to\s+find|can\s+i\s+(?:find|get|stream|watch|hear|listen\s+to)"
    rf"|{_AVAILABLE})")
_SIMILAR = re.compile(
    r"\b(?:similar|more\s+like|in\s+the\s+vein\s+of|reminds?\s+me\s+of|same\s+vibe|vibes?\s+of"
    r"|reminiscent\s+of)\b")
_FEEDBACK = re.compile(
    r"\b(?:loved?|liked|enjoyed|adored|hated?|disliked?|didn'?t\s+(?:like|enjoy)|did\s+not"
    r"|not\s+(?:that|this)|seen|watched|heard|thumbs"
    r"|was\s+(?:great|boring|awesome|bad|terrible|amazing|good))\b")
_RECOMMEND = re.compile(
    r"\b(?:recommend|suggest|something|anything|some|what\s+should|give\s+me|show\s+me|i\s+want"
    r"|i'?d\s+like|looking\s+for|in\s+the\s+mood|any\s+(?:good|ideas)|what\s+else|more|options"
    r"|ideas|play)\b")
_GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|yo|hiya|good\s+(?:morning|evening|afternoon|night)|thanks?|thank\s+you"
    r"|cheers|ok|okay|cool|great|nice|bye|goodbye|who\s+are\s+you|what\s+can\s+you\s+do"
    r"|how\s+are\s+you|help)\b")


@dataclass
class _Hit:
    """One lexicon match: its token span and what it means."""

    start: int
    end: int
    senses: tuple[str, ...]
    negated: bool = False


@dataclass
class _State:
    """Everything found in one message."""

    text: str
    work: str
    issues: list[InputIssue] = field(default_factory=list)
    titles: list[TitleRef] = field(default_factory=list)
    title_cues: set[str] = field(default_factory=set)
    quoted: bool = False
    ref_positions: list[int] = field(default_factory=list)
    excl_positions: list[int] = field(default_factory=list)
    ref_similar: bool = False
    year_min: int | None = None
    year_max: int | None = None
    min_minutes: float | None = None
    max_minutes: float | None = None
    playlist_minutes: float | None = None
    count: int | None = None
    negated_spans: list[tuple[int, int]] = field(default_factory=list)
    title_spans: list[tuple[int, str]] = field(default_factory=list)  # (start, text) of each title
    # "more like that", "loved it": (start, end, positions, negated, feedback), resolved once the
    # titles are known ("Parasite was amazing, more like that": "that" is Parasite)
    anaphora: list[tuple[int, int, list[int], bool, bool]] = field(default_factory=list)

    def consume(self, start: int, end: int) -> None:
        self.work = self.work[:start] + _MASK * (end - start) + self.work[end:]


def _lower_same_length(text: str) -> str:
    if text.isascii():
        return text.lower()
    return "".join(lc if len(lc := c.lower()) == 1 else c for c in text)


def _number(word: str) -> float | None:
    word = " ".join(word.split())
    if word in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[word])
    try:
        return float(word.replace(",", "."))
    except ValueError:
        return None


def _variants(phrase: str) -> set[str]:
    """The phrase, its plural or singular, and its hyphen/space spellings."""
    out = {phrase}
    for p in (phrase.replace("-", " "), phrase.replace(" ", "-")):
        out.add(p)
    forms = set()
    for p in out:
        head, _, last = p.rpartition(" ")
        prefix = head + " " if head else ""
        if last.endswith("y") and len(last) > 2 and last[-2] not in "aeiou":
            forms.add(prefix + last[:-1] + "ies")
        elif last.endswith(("s", "x", "ch", "sh")):
            forms.add(prefix + last + "es")
        else:
            forms.add(prefix + last + "s")
        if last.endswith("ies") and len(last) > 4:
            forms.add(prefix + last[:-3] + "y")
        elif (last.endswith("s") and not last.endswith(("ss", "ws")) and last != "series"
              and len(last) > 3):
            forms.add(prefix + last[:-1])
    return out | forms


def _token_key(phrase: str) -> str:
    return " ".join(m.group("w") for m in _TOKEN.finditer(phrase.lower()) if m.group("w"))


class RulesParser:
    """The offline, deterministic :class:`~assistant.parsers.RequestParser`.

    Builds its lexicon and title matcher once from ``catalog``; ``parse`` then reads at most
    ``max_chars`` characters of a message.

    Args:
        catalog: The catalog whose genres, tags and titles the parser may use.
        max_chars: Characters of a message that are read (default 1000).
    """

    name = "rules"

    def __init__(self, catalog: Catalog, *, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        if not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(
                f"max_chars must be a positive number of characters, got {max_chars!r}")
        self.max_chars = max_chars
        self._catalog = catalog
        self.vocabulary = Vocabulary.from_catalog(catalog)
        self.titles = TitleMatcher(catalog)
        self._lexicon, self._literal = self._build_lexicon()
        self._max_phrase = max(len(k.split()) for k in self._lexicon)

    # -- set-up ------------------------------------------------------------------------------

    def _build_lexicon(self) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        vocab = self.vocabulary

        def usable(sense: str) -> bool:
            kind, _, value = sense.partition(":")
            if kind == "genre":
                return value in vocab.genres
            if kind == "tag":
                return value in vocab.tags
            return True

        lexicon: dict[str, tuple[str, ...]] = {}
        literal: dict[str, tuple[str, ...]] = {}
        # The catalog's own labels read as themselves (a genre first when a label is both);
        # a label beats another label's plural or singular ("sports" vs "sport").
        labels = sorted((vocab.genres | vocab.tags) - BARE_LABELS_IGNORED)
        for label in labels:
            literal[_token_key(label)] = (("genre:" if label in vocab.genres else "tag:") + label,)
        for label in labels:
            for form in _variants(label):
                literal.setdefault(_token_key(form), literal[_token_key(label)])
        lexicon.update(literal)
        sources: list[dict[str, tuple[str, ...]]] = [
            {w: ("lang:" + code,) for w, code in LANGUAGE_WORDS.items()},
            {w + "-language": ("lang:" + c,) for w, c in LANGUAGE_WORDS.items()},
            MEDIA_WORDS,
            SYNONYMS,
            {w: ("mood:" + m.value,) for w, m in MOOD_WORDS.items()},
        ]
        for source in sources:
            for phrase, senses in source.items():
                kept = tuple(s for s in senses if usable(s))
                if not kept:
                    continue
                forms = _variants(phrase) if phrase.count(" ") < 2 else {phrase}
                for form in forms:
                    key = _token_key(form)
                    if key:
                        lexicon[key] = kept
        return lexicon, literal

    # -- parse -------------------------------------------------------------------------------

    def parse(self, message: str, context: ParseContext | None = None) -> Request:
        """Parse one message; see the module docstring for what is read and how."""
        if context is not None and not isinstance(context, ParseContext):
            context = ParseContext.model_validate(context)
        text, issues = self._clean(message)
        state = _State(text=text, work=_lower_same_length(text), issues=issues)
        if not text:
            if InputIssue.instructions_ignored not in issues:
                issues.append(InputIssue.empty)
            return Request(intent=Intent.chitchat, issues=issues)
        self._references(state, context)
        self._titles(state)
        if self._foreign(state):
            state.issues.append(InputIssue.unsupported_language)
            return self._assemble(state, [], context, foreign=True)
        self._durations(state)
        self._years(state)
        self._counts_regex(state)
        hits = self._words(state)
        return self._assemble(state, hits, context)

    # 1. clean-up -----------------------------------------------------------------------------

    def _clean(self, message: object) -> tuple[str, list[InputIssue]]:
        issues: list[InputIssue] = []
        if message is None:
            return "", issues
        if isinstance(message, bytes | bytearray):
            message = bytes(message[: self.max_chars * 4]).decode("utf-8", errors="replace")
        if not isinstance(message, str):
            raise TypeError(f"a message must be text (str), got {type(message).__name__}")
        raw = message
        if len(raw) > self.max_chars:
            issues.append(InputIssue.truncated)
            raw = raw[: self.max_chars]
            cut = max(raw.rfind(" "), raw.rfind("\n"))
            if cut > self.max_chars - 60:
                raw = raw[:cut]
        text = unicodedata.normalize("NFKC", raw).translate(_QUOTES)
        cleaned = _CONTROL.sub(" ", _INVISIBLE.sub("", _ANSI.sub(" ", text)))
        if cleaned != text:
            issues.append(InputIssue.control_characters)
        clauses = [c for c in _CLAUSE_SPLIT.split(cleaned) if c]
        kept = [c for c in clauses if not _INJECTION.search(c)]
        if len(kept) != len(clauses):
            issues.append(InputIssue.instructions_ignored)
        text = " ".join("".join(kept).split())
        text = re.sub(r"\s+([,;.!?])", r"\1", text).strip(" ,;")
        if not any(ch.isalnum() for ch in text):
            text = ""
        return text, issues

    # 2. references to the last list ---------------------------------------------------------

    def _references(self, st: _State, context: ParseContext | None) -> None:
        focus = context.focus_position if context is not None else 1
        found: list[tuple[int, int, list[int]]] = []
        for m in _FIRST_N.finditer(st.work):
            n = int(_number(m.group("n")) or 0)
            found.append((m.start(), m.end(), list(range(1, n + 1))))
        for m in _ORDINAL_REF.finditer(st.work):
            if not (m.group("the") or m.group("noun")) or _MASK in m.group(0):
                continue
            if m.group("ord") == "top" and not m.group("noun"):
                continue
            found.append((m.start(), m.end(), [_ORDINALS[m.group("ord")]]))
        for m in _NUMBER_REF.finditer(st.work):
            n = int(m.group("n"))
            if 1 <= n <= 100:
                found.append((m.start(), m.end(), [n]))
        chained: set[int] = set()
        for _, end, _ in list(found):
            while end not in chained and (m := _COORD_ORDINAL.match(st.work, end)):
                chained.add(end)
                found.append((m.start("ord"), m.end(), [_ORDINALS[m.group("ord")]]))
                end = m.end()
        explicit = [p for _, _, positions in sorted(found) for p in positions]
        anaphora = set()
        for m in _ANAPHORA.finditer(st.work):
            # "the second one looks great, more like that": "that" is the one just named
            found.append((m.start(), m.end(), [explicit[0] if explicit else focus]))
            if not explicit:
                anaphora.add(m.start())
        taken: list[tuple[int, int]] = []
        negated = False
        for start, end, positions in sorted(found, key=lambda f: (f[0], -f[1])):
            if any(start < e and s < end for s, e in taken):
                continue
            if start in anaphora:  # placed once the titles are known (see _resolve_anaphora)
                taken.append((start, end))
                before = re.split(r"[,;.!?\x00]", st.work[max(0, start - 25):start])[-1]
                before += " " + st.work[start:end]
                negated = _REF_NEGATION.search(before) is not None
                st.ref_similar = st.ref_similar or (
                    not negated and _REF_SIMILAR.search(before) is not None)
                feedback = _FEEDBACK_ANAPHOR.search(st.work, start, end) is not None
                st.anaphora.append((start, end, positions, negated, feedback))
                st.consume(start, end)
                continue
            joined = bool(taken) and _COORD_GAP.fullmatch(st.work, taken[-1][1], start) is not None
            taken.append((start, end))
            if not joined:  # a coordinated reference shares the verb of the one before it
                before = re.split(r"[,;.!?\x00]", st.work[max(0, start - 25):start])[-1]
                before += " " + st.work[start:end]  # the same clause only
                negated = _REF_NEGATION.search(before) is not None
            if negated:
                st.excl_positions.extend(positions)
                st.negated_spans.append((start, end))
            else:
                st.ref_positions.extend(positions)
                if _REF_SIMILAR.search(before):
                    st.ref_similar = True
            st.consume(start, end)

    # 3. titles -------------------------------------------------------------------------------

    def _titles(self, st: _State) -> None:
        for m in _QUOTED.finditer(st.text):
            group = 1 if m.group(1) is not None else 2
            span = m.group(group)
            if _MASK in st.work[m.start(group):m.end(group)] or not span.strip():
                continue
            match = self.titles.exact(span) or self.titles.fuzzy(span, cutoff=85)
            role = self._role_before(st.work[max(0, m.start() - 40):m.start()])
            self._add_title(st, span.strip(), match, role, m.start(), m.end(), cue=None)
            st.quoted = True
        for m in list(_TITLE_CUE.finditer(st.work)):
            if _MASK in st.work[m.start():m.end()]:
                continue
            self._cued_title(st, m)
        self._opinion_subjects(st)
        self._capitalised_titles(st)
        self._resolve_anaphora(st)

    def _role_before(self, before: str) -> TitleRole:
        if _ROLE_BEFORE_NOT.search(before):
            return TitleRole.not_
        if _ROLE_BEFORE_ABOUT.search(before):
            return TitleRole.about
        return TitleRole.like

    def _cued_title(self, st: _State, cue: re.Match[str]) -> None:
        kind = cue.lastgroup or "like"
        cue_text = " ".join(cue.group(0).split())
        start = cue.end()
        stop = _WINDOW_STOP.search(st.work, start)
        end = stop.start() if stop else len(st.work)
        if _MASK in st.work[start:end]:
            end = st.work.index(_MASK, start)
        words = list(re.finditer(r"\S+", st.text[start:end]))[:10]
        if not words:
            return
        first = _LEADING_ARTICLE.sub("", st.text[start:end]).split()
        if not first:
            return
        head = first[0].lower().strip(".,:;!?")
        original_case = any(ch.isupper() for w in words for ch in w.group(0)[:1])
        # "like My Favorite Murder", "similar to This American Life": a capitalised word that
        # usually is not a title's may start one, if the whole span then is exactly a title
        capital_skip = head in _SKIP_FIRST and head != "i" and (
            first[0][:1].isupper() or len(words) >= 3)
        if capital_skip:
            whole = self._exact_capitalised_span(st, start, words)
            if whole is not None:
                match, n = whole
                self._add_cued(st, cue, kind, cue_text, start, words, match, n)
            return
        if head in _SKIP_FIRST or (not original_case and _token_key(head) in self._lexicon):
            return
        if head.isdigit() and len(words) == 1 and not self.titles.exact(head):
            return
        weak = bool(_WEAK_CUES.match(cue_text)) and kind != "like"
        best: tuple[TitleMatch, int] | None = None
        # exact keys on every prefix, longest first; then fuzzy; then a unique word.
        for n in range(len(words), 0, -1):
            span = st.text[start:start + words[n - 1].end()]
            if not any(ch.isupper() for ch in span) and self._only_vocabulary(span):
                continue  # "find the album Kid A": "the album" is words, not a title
            match = self.titles.exact(span)
            if match:
                best = (match, n)
                break
        if best is None and (original_case or not weak):
            cutoff = 88.0 if original_case else 90.0
            for n in range(min(len(words), 6), 0, -1):
                span = st.text[start:start + words[n - 1].end()]
                if len(span) < 4 or (not any(ch.isupper() for ch in span)
                                     and self._only_vocabulary(span)):
                    continue
                match = self.titles.fuzzy(span, cutoff=cutoff)
                if match:
                    best = (match, n)
                    break
        if best is None and original_case and words[0].group(0)[:1].isupper():
            caps = 0
            while caps < len(words) and words[caps].group(0)[:1].isupper():
                caps += 1
            match = self.titles.unique_word(st.text[start:start + words[caps - 1].end()])
            if match:
                best = (match, caps)
        if best is None:
            return
        self._add_cued(st, cue, kind, cue_text, start, words, *best)

    def _exact_capitalised_span(self, st: _State, start: int,
                                words: list[re.Match[str]]) -> tuple[TitleMatch, int] | None:
        """The longest run of two or more capitalised words from ``start`` that is a title
        (three or more words, exactly, when none is capitalised)."""
        caps = 0
        while caps < len(words) and (words[caps].group(0)[:1].isupper() or (
                caps and words[caps].group(0).lower() in _CAP_CONNECT)):
            caps += 1
        if caps == 0:  # all lower case: only a title of three words or more, exactly
            return next(((m, n) for n in range(len(words), 2, -1)
                         if (m := self.titles.exact(st.text[start:start + words[n - 1].end()]))),
                        None)
        for n in range(caps, 1, -1):
            match = self.titles.exact(st.text[start:start + words[n - 1].end()])
            if match:
                return match, n
        return None

    def _add_cued(self, st: _State, cue: re.Match[str], kind: str, cue_text: str, start: int,
                  words: list[re.Match[str]], match: TitleMatch, n: int) -> None:
        end_char = start + words[n - 1].end()
        role = {"not": TitleRole.not_, "about": TitleRole.about}.get(kind, TitleRole.like)
        span = st.text[start:end_char].strip(" .,:;!?")
        cue_kind = ("compare" if kind == "like" and _COMPARE_CUES.match(cue_text)
                    else "feedback" if kind in ("like", "not") and cue_text not in ("not",)
                    and not cue_text.startswith(("except", "besides", "other", "apart", "anything",
                                                 "but"))
                    else kind)
        self._add_title(st, span, match, role, cue.start(), end_char, cue=cue_kind)

    def _only_vocabulary(self, span: str) -> bool:
        words = [w for w in _LEADING_ARTICLE.sub("", span.lower()).split() if w]
        return bool(words) and all(w in _SKIP_FIRST or _token_key(w) in self._lexicon
                                   for w in words)

    def _capitalised_titles(self, st: _State) -> None:
        words = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\S+", st.text)]
        runs: list[list[int]] = []
        current: list[int] = []
        for i, (s, e, w) in enumerate(words):
            if _MASK in st.work[s:e]:
                if current:
                    runs.append(current)
                current = []
                continue
            bare = w.strip("\"'()[]")
            is_cap = bool(bare) and (bare[0].isupper() or (bare[0].isdigit() and bool(current)))
            if is_cap or (current and bare in _CAP_CONNECT):
                current.append(i)
            elif current:
                runs.append(current)
                current = []
            if current and re.search(r"[,;!?]$|(?<![A-Z])\.$", w) and not re.fullmatch(
                    r"(?:[A-Z]\.)+|(?:Dr|Mr|Mrs|Ms|St|Vol|Sgt)\.", bare):
                runs.append(current)
                current = []
        if current:
            runs.append(current)
        for run in runs[:6]:
            while run and words[run[-1]][2].strip("\"'()[].,;:!?") in _CAP_CONNECT:
                run = run[:-1]
            whole = self._whole_title_run(st, words, run)
            if whole is not None:  # "This American Life", "My Favorite Murder", "I Love Lucy"
                start, end, match = whole
                role = self._role_before(st.work[max(0, start - 40):start])
                self._add_title(st, st.text[start:end], match, role, start, end, cue=None)
                continue
            while run:
                i = run[0]
                first = words[i][2].strip("\"'()[].,;:!?").lower()
                sentence_start = i == 0 or re.search(r"[.!?]$", words[i - 1][2]) is not None
                if first in _CAP_STOP or (len(run) == 1 and _token_key(first) in self._lexicon) or (
                        sentence_start and _token_key(first) in self._lexicon):
                    run = run[1:]
                    continue
                break
            if not run:
                continue
            start = words[run[0]][0]
            match: TitleMatch | None = None
            end = start
            for n in range(len(run), 0, -1):
                end = words[run[n - 1]][1]
                span = st.text[start:end].rstrip(".,:;!?")
                match = self.titles.exact(span)
                if match:
                    end = start + len(span)
                    break
            first_of_sentence = run[0] == 0 or re.search(r"[.!?]$", words[run[0] - 1][2])
            if match is None and len(run) > 1 and first_of_sentence:
                # "Saw Barbie.", "Watched Dune last night": a sentence's first word is
                # capitalised whatever it is; the title may start after it
                span = st.text[words[run[1]][0]:words[run[-1]][1]].rstrip(".,:;!?")
                match = self.titles.exact(span)
                if match:
                    start = words[run[1]][0]
                    end = start + len(span)
            if match is None:
                end = words[run[-1]][1]
                span = st.text[start:end].rstrip(".,:;!?")
                if len(span) >= 5:
                    match = self.titles.fuzzy(span, cutoff=90)
                    end = start + len(span)
            if match is None or self._occasion(st, start, end):
                continue
            role = self._role_before(st.work[max(0, start - 40):start])
            self._add_title(st, st.text[start:end], match, role, start, end, cue=None)

    def _whole_title_run(self, st: _State, words: list[tuple[int, int, str]],
                         run: list[int]) -> tuple[int, int, TitleMatch] | None:
        """A run of two or more capitalised words that starts with a word that is usually not
        a title's ("My", "This", "How") and is, as a whole, exactly a title."""
        if len(run) < 2 or words[run[0]][2].strip("\"'()[].,;:!?").lower() not in _CAP_STOP:
            return None
        start = words[run[0]][0]
        for n in range(len(run), 1, -1):
            span = st.text[start:words[run[n - 1]][1]].rstrip(".,:;!?")
            match = self.titles.exact(span)
            if match:
                return start, start + len(span), match
        return None

    def _occasion(self, st: _State, start: int, end: int) -> bool:
        """Whether a capitalised one-word span no cue pointed at is an occasion, not a title:
        a holiday or season ("songs for Halloween"), or a word after "for", "on", "at"...
        ("music for a Renaissance fair"). A message that is nothing but the word keeps it."""
        span = st.text[start:end].strip(" \"'.,:;!?")
        if " " in span or st.text.strip(" \"'.,:;!?") == span:
            return False
        after = st.work[end:end + 30]
        if _FAN_AFTER.match(after):
            return False  # "a show for Bluey fans"
        previous = re.findall(r"[\w']+", st.work[max(0, start - 30):start])
        while previous and previous[-1] in ("a", "an", "the", "my", "our", "this", "next"):
            previous.pop()
        if previous and (previous[-1] in _TITLE_VERBS or previous[-2:-1] == ["mood"]):
            return False  # "I watched Halloween", "about Halloween", "in the mood for Jaws"
        return span.lower() in OCCASION_WORDS or (
            bool(previous) and previous[-1] in _OCCASION_BEFORE)

    def _add_title(self, st: _State, text: str, match: TitleMatch | None, role: TitleRole,
                   start: int, end: int, cue: str | None) -> None:
        text = text.strip()[:200] or "?"
        said_end = end  # what is said of the title right after it is part of the title's clause
        if cue is None and match is not None:
            after = st.work[end:end + 80]
            if opinion := _OPINION_AFTER.match(after):  # "Parasite was amazing"
                role = TitleRole.not_ if opinion.group("bad") else TitleRole.like
                cue, said_end = "feedback", end + opinion.end()
            elif _PLACE_AFTER.match(after):  # "do you guys have Fleabag on here?"
                role, cue = TitleRole.about, "about"
            elif _LIKENESS_AFTER.match(after):  # "something with Fleabag energy"
                role, cue = TitleRole.like, "compare"
        if cue == "feedback" and (reason := _OPINION_REASON.match(st.work[said_end:said_end + 60])):
            said_end += reason.end()  # "I hated Hereditary, far too scary": not a request
        if match is None:
            if len(st.titles) < 10:
                st.titles.append(TitleRef(text=text, role=role))
        else:
            for item_id in match.ids:
                if len(st.titles) < 10 and all(t.item_id != item_id for t in st.titles):
                    st.titles.append(TitleRef(text=text, item_id=item_id, role=role,
                                              score=round(match.score, 1)))
        if cue:
            st.title_cues.add(cue)
        elif role is TitleRole.like and _ROLE_BEFORE_FEEDBACK.search(
                st.work[max(0, start - 30):start]):
            st.title_cues.add("feedback")
        if role is TitleRole.not_:
            st.negated_spans.append((start, said_end))
        st.title_spans.append((start, text))
        st.consume(start, said_end)

    def _opinion_subjects(self, st: _State) -> None:
        """Titles in any case that are the subject of an opinion: "dune was amazing"."""
        for m in list(_OPINION_SUBJECT.finditer(st.work)):
            span = m.group("span").strip()
            if not span or _MASK in span or span.split()[0] in _SKIP_FIRST - {"the", "a", "an"}:
                continue
            match = self.titles.exact(span)
            if match is not None:
                start = m.start("span")
                self._add_title(st, st.text[start:start + len(span)], match, TitleRole.like,
                                start, start + len(span), cue=None)

    def _resolve_anaphora(self, st: _State) -> None:
        """Place "more like that", "loved it" on the last list, unless a title named before it
        in the message is what it points at; then its opinion goes to that title."""
        for start, end, positions, negated, feedback in st.anaphora:
            before = [text for title_start, text in st.title_spans if title_start < start]
            if not before:
                (st.excl_positions if negated else st.ref_positions).extend(positions)
                if negated:
                    st.negated_spans.append((start, end))
                continue
            if not feedback:
                continue
            # "Saw Barbie. Hated it.", "Watched Dune last night, loved it"
            st.title_cues.add("feedback")
            role = TitleRole.not_ if negated else TitleRole.like
            st.titles = [t.model_copy(update={"role": role})
                         if t.text == before[-1] and t.role is not TitleRole.about else t
                         for t in st.titles]

    # 4. language -----------------------------------------------------------------------------

    def _foreign(self, st: _State) -> bool:
        letters = [c for c in st.work if c.isalpha()]
        if not letters:
            return False
        if sum(ord(c) > 0x24F for c in letters) * 2 > len(letters):
            return True
        words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", st.work)
        foreign = sum(w in _FOREIGN for w in words)
        english = sum(w in _ENGLISH or _token_key(w) in self._lexicon for w in words)
        return foreign >= 2 and foreign > english

    # 5. amounts ------------------------------------------------------------------------------

    def _durations(self, st: _State) -> None:
        playlist = _PLAYLIST.search(st.work) is not None
        for m in list(_DURATION.finditer(st.work)):
            if _MASK in m.group(0):
                continue
            unit = 60.0 if (m.group("unit") or "").startswith("h") else 1.0
            if m.group("halfhour"):
                value, low = 30.0, None
            else:
                num = _number(m.group("num"))
                if num is None:
                    continue
                if m.group("half") or m.group("half2"):
                    num += 0.5
                value = num * unit + (float(m.group("extra")) if m.group("extra") else 0.0)
                low = _number(m.group("lo")) if m.group("lo") else None
                low = low * unit if low is not None else None
            if value <= 0 or value > 100_000:
                continue
            start, end = m.start(), m.end()
            before = st.work[max(0, start - 30):start]
            after = st.work[end:end + 40]
            consumed_start, consumed_end = start, end
            kind, cue = "max", ""
            if low is not None:
                kind = "range"
            elif (p := _PRE_PLAYLIST.search(before)) or _POST_PLAYLIST.match(after):
                kind = "playlist"
                if p:
                    consumed_start = start - (len(before) - p.start())
            elif (p := _PRE_MAX.search(before)) or (q := _POST_MAX.match(after)):
                kind, cue = "max", "bound"
                if p:
                    consumed_start = start - (len(before) - p.start())
                else:
                    consumed_end = end + q.end()
            elif (p := _PRE_MIN.search(before)) or (q := _POST_MIN.match(after)):
                kind, cue = "min", "bound"
                if p:
                    consumed_start = start - (len(before) - p.start())
                else:
                    consumed_end = end + q.end()
            elif (p := _PRE_APPROX.search(before)) or (q := _POST_APPROX.match(after)):
                kind = "approx"
                if p:
                    consumed_start = start - (len(before) - p.start())
                else:
                    consumed_end = end + q.end()
            elif _POST_ACTIVITY.match(after):
                kind, cue = "max", "activity"
            elif _POST_MEDIA.match(after):
                kind, cue = "approx", "item"
            if cue == "bound" and (neg := self._negation_before(st, consumed_start)):
                kind = "min" if kind == "max" else "max"  # "nothing over 2 hours": at most 2
                st.consume(*neg)
            if playlist and kind in ("max", "min", "approx") and cue != "item" and not (
                    _ITEM_BEFORE.search(st.work[max(0, consumed_start - 40):consumed_start])
                    or _POST_ITEM.match(after)) and (cue != "bound" or value >= 20):
                # in a playlist request a length is the playlist's ("a 45-minute workout
                # playlist", "for my 25-minute commute"), unless it is said of the songs
                kind = "playlist"
            trail = _POST_TRAIL.match(st.work[consumed_end:consumed_end + 20])
            if trail:
                consumed_end += trail.end()
            if kind == "range" and low is not None:
                lo, hi = sorted((low, value))
                st.min_minutes, st.max_minutes = lo, hi
            elif kind == "playlist":
                st.playlist_minutes = value
            elif kind == "max":
                st.max_minutes = value if st.max_minutes is None else min(st.max_minutes, value)
            elif kind == "min":
                st.min_minutes = value if st.min_minutes is None else max(st.min_minutes, value)
            else:
                st.min_minutes, st.max_minutes = value * 0.75, value * 1.25
            st.consume(consumed_start, consumed_end)

    def _negation_before(self, st: _State, pos: int) -> tuple[int, int] | None:
        """The span of a negation that governs the bound starting at ``pos`` ("nothing over 2
        hours", "no films made before 1990"), or None.

        Between the two only fillers and media, genre, tag or language words may stand, in the
        same clause. The span is empty (start == end) when a genre, tag or language stands between:
        "no horror films over 2 hours" keeps its "no" for the horror as well."""
        clause = re.split(r"[,;.!?:\x00]", st.work[max(0, pos - 50):pos])[-1]
        offset = pos - len(clause)
        words = list(re.finditer(r"[\w'-]+", clause))
        content = False
        for w in reversed(words[-6:]):
            text = w.group(0)
            if text in _BOUND_NEGATIONS:
                start = offset + w.start()
                return (start, start) if content else (start, offset + w.end())
            if text in _BOUND_FILLERS:
                continue
            kinds = {x.partition(":")[0] for x in self._lexicon.get(_token_key(text), ())}
            if not kinds or not kinds <= {"media", "weakmedia", "genre", "tag", "lang"}:
                return None
            content = content or bool(kinds - {"media", "weakmedia"})
        return None

    def _years(self, st: _State) -> None:
        lows: list[int] = []
        highs: list[int] = []
        for m in list(_YEAR_RANGE.finditer(st.work)):
            if _MASK in m.group(0):
                continue
            a, b = sorted((int(m.group("a")), int(m.group("b"))))
            lows.append(a)
            highs.append(b)
            st.consume(m.start(), m.end())
        for m in list(_YEAR_OPEN.finditer(st.work)):
            if _MASK in m.group(0):
                continue
            y = int(m.group("y"))
            (lows if m.group("later") is not None else highs).append(y)
            st.consume(m.start(), m.end("later") if m.group("later") is not None
                       else m.end("earlier"))
        for m in list(_YEAR_CUE.finditer(st.work)):
            if _MASK in m.group(0):
                continue
            y, cue = int(m.group("y")), " ".join(m.group("cue").split())
            bound: tuple[str, int] | None = None
            if cue in ("since",):
                bound = ("low", y)
            elif cue in ("after", "post", "newer than", "later than"):
                bound = ("low", y + 1)
            elif cue in ("before", "pre", "prior to", "older than", "earlier than"):
                bound = ("high", y - 1)
            elif cue in ("until", "till"):
                bound = ("high", y)
            elif cue in ("circa", "around"):
                lows.append(y - 2)
                highs.append(y + 2)
            else:
                lows.append(y)
                highs.append(y)
            if bound is not None:
                self._add_year_bound(st, bound, m.start(), lows, highs)
            st.consume(m.start(), m.end())
        for m in list(_YEAR_BARE.finditer(st.work)):
            if _MASK in m.group(0):
                continue
            y = int(m.group("y"))
            lows.append(y)
            highs.append(y)
            st.consume(m.start(), m.end())
        for m in list(_DECADE.finditer(st.work)):
            if _MASK in m.group(0):
                continue
            if m.group("d"):
                d = m.group("d")
                # two digits: 00-20 are this century ("the 2010s" = "the 10s"), the rest the last
                decade = int(d) if len(d) == 4 else (2000 if int(d) <= 20 else 1900) + int(d)
            else:
                decade = _WORD_DECADES[m.group("w")]
            q = m.group("q") or m.group("q2")
            lo, hi = {"early": (0, 4), "mid": (3, 7), "late": (5, 9)}.get(q or "", (0, 9))
            first, last = decade + lo, decade + hi
            before = st.work[max(0, m.start() - 20):m.start()]
            cue = _ERA_CUE.search(before)
            start = m.start()
            end = m.end()
            if cue:
                word = " ".join(cue.group("cue").split())
                start -= len(before) - cue.start()
                if word == "since":
                    bound = ("low", first)
                elif word in ("after", "post", "newer than"):
                    bound = ("low", decade + 10)
                elif word in ("until", "till"):
                    bound = ("high", last)
                else:
                    bound = ("high", decade - 1)
                self._add_year_bound(st, bound, start, lows, highs)
            elif open_end := _OPEN_LATER.match(st.work, end):
                lows.append(first)  # "the 90s onwards"
                end = open_end.end()
            elif open_end := _OPEN_EARLIER.match(st.work, end):
                highs.append(last)  # "the 80s or earlier"
                end = open_end.end()
            else:
                lows.append(first)
                highs.append(last)
            st.consume(start, end)
        if not lows and not highs:
            m = _RECENT.search(st.work)
            if m and self.vocabulary.newest_year is not None:
                lows.append(self.vocabulary.newest_year - 4)
                st.consume(m.start(), m.end())
        year_min = max(lows) if lows else None
        year_max = min(highs) if highs else None
        if year_min is not None and year_max is not None and year_min > year_max:
            year_min, year_max = min(lows), max(highs)
        st.year_min = year_min if year_min is None else max(1800, min(2100, year_min))
        st.year_max = year_max if year_max is None else max(1800, min(2100, year_max))

    def _add_year_bound(self, st: _State, bound: tuple[str, int], start: int, lows: list[int],
                        highs: list[int]) -> None:
        """Add a one-sided year bound whose cue starts at ``start``; a negation before the cue
        turns it round ("nothing before 1990" is 1990 or later)."""
        side, year = bound
        if neg := self._negation_before(st, start):
            side, year = ("high", year - 1) if side == "low" else ("low", year + 1)
            st.consume(*neg)
        (lows if side == "low" else highs).append(year)

    def _counts_regex(self, st: _State) -> None:
        for pattern in (_TOP_N, _N_NOUN):
            for m in list(pattern.finditer(st.work)):
                if _MASK in m.group(0):
                    continue
                n = _number(m.group("n"))
                if n is not None and st.count is None:
                    st.count = int(n)
                    start = m.start("n") if pattern is _TOP_N else m.start()
                    st.consume(start, m.end())

    # 6. words --------------------------------------------------------------------------------

    def _words(self, st: _State) -> list[_Hit]:
        tokens: list[tuple[str, int, int, str]] = []  # (text, start, end, kind)
        for m in _TOKEN.finditer(st.work):
            kind = m.lastgroup or "p"
            tokens.append((m.group(0), m.start(), m.end(), kind))
        words = [i for i, t in enumerate(tokens) if t[3] == "w"]
        # lexicon matches, longest first, over runs of words (punctuation and gaps break them)
        hits: list[_Hit] = []
        i = 0
        while i < len(tokens):
            if tokens[i][3] != "w":
                i += 1
                continue
            found = None
            for n in range(self._max_phrase, 0, -1):
                span = tokens[i:i + n]
                if len(span) < n or any(t[3] != "w" for t in span):
                    continue
                key = " ".join(t[0] for t in span)
                senses = self._lexicon.get(key)
                if senses is None:
                    continue
                prev = tokens[i - 1][0] if i > 0 and tokens[i - 1][3] == "w" else ""
                nxt = tokens[i + n][0] if i + n < len(tokens) else ""
                if key == "show" and nxt in ("me", "us", "you", "them"):
                    continue
                if prev in _TOPIC_BEFORE:
                    senses = self._literal.get(key) or tuple(
                        s for s in senses if not s.startswith(("media:", "weakmedia:")))
                    if not senses:
                        continue
                found = _Hit(i, i + n, senses)
                break
            if found is None:
                i += 1
                continue
            hits.append(found)
            i = found.end
        covered = {j for h in hits for j in range(h.start, h.end)}
        # negation scopes
        for pos, idx in enumerate(words):
            if idx in covered:
                continue
            word = tokens[idx][0]
            cue_len = 0
            for multi in _NEG_MULTI:
                nxt = [tokens[j][0] for j in words[pos:pos + len(multi)]]
                if tuple(nxt) == multi and words[pos + len(multi) - 1] - idx == len(multi) - 1:
                    cue_len = len(multi)
                    break
            if not cue_len and word in _NEG_SINGLE:
                cue_len = 1
            if not cue_len:
                continue
            scope_start = idx + cue_len
            scope_end = scope_start
            seen_words = 0
            while scope_end < len(tokens) and seen_words < _SCOPE_WORDS:
                text, _, _, kind = tokens[scope_end]
                if kind != "w" or (text in _SCOPE_STOP and scope_end > scope_start):
                    break
                seen_words += 1
                scope_end += 1
            content_seen = False
            negated_any = False
            for h in hits:
                if h.start < scope_start or h.end > scope_end or h.negated:
                    continue
                kinds = {s.partition(":")[0] for s in h.senses}
                if kinds <= {"media", "weakmedia"} and content_seen:
                    continue  # "no horror films": films is what is wanted
                if kinds & {"genre", "tag", "mood", "media", "lang"}:
                    h.negated = True
                    negated_any = True
                content_seen = content_seen or bool(kinds & {"genre", "tag", "mood"})
            if negated_any:
                end_char = tokens[scope_end - 1][2] if scope_end > scope_start else tokens[idx][2]
                st.negated_spans.append((tokens[idx][1], end_char))
        self._counts_tokens(st, tokens, hits)
        return hits

    def _counts_tokens(self, st: _State, tokens: list[tuple[str, int, int, str]],
                       hits: list[_Hit]) -> None:
        if st.count is not None:
            return
        starts = {h.start for h in hits}
        for i, (text, _, _, kind) in enumerate(tokens):
            if kind != "w":
                continue
            if text in ("couple", "few") and i > 0 and tokens[i - 1][0] == "a":
                n = _number("a " + text)
            elif text.isdigit() and len(text) <= 3:
                n = float(text)
            elif text in _NUMBER_WORDS and text not in ("a", "an"):
                n = float(_NUMBER_WORDS[text])
            else:
                continue
            if n is None or n < 1:
                continue
            following = []
            for j in range(i + 1, min(i + 5, len(tokens))):
                if tokens[j][3] != "w":
                    break
                following.append(j)
            prev = tokens[i - 1][0] if i > 0 and tokens[i - 1][3] == "w" else ""
            prev2 = tokens[i - 2][0] if i > 1 and tokens[i - 2][3] == "w" else ""
            if any(j in starts or tokens[j][0] in _COUNT_NOUNS for j in following[:3]) or (
                    not following and (prev in _COUNT_VERBS or prev2 in _COUNT_VERBS)):
                if following and tokens[following[0]][0] == "of":
                    continue
                st.count = int(n)
                return

    # 7. assemble -----------------------------------------------------------------------------

    def _assemble(self, st: _State, hits: list[_Hit], context: ParseContext | None,
                  foreign: bool = False) -> Request:
        vocab = self.vocabulary
        media: list[str] = []
        weak_media: list[str] = []
        excl_media: list[str] = []
        genres: list[str] = []
        excl_genres: list[str] = []
        tags: list[str] = []
        excl_tags_explicit: list[str] = []
        excl_tags_mood: list[str] = []
        moods: list[Mood] = []
        language: str | None = None
        rel_duration: RelativeDuration | None = None
        rel_year: RelativeYear | None = None
        for h in hits:
            for sense in h.senses:
                kind, _, value = sense.partition(":")
                if kind == "media":
                    (excl_media if h.negated else media).append(value)
                elif kind == "weakmedia" and not h.negated:
                    weak_media.append(value)
                elif kind == "genre":
                    (excl_genres if h.negated else genres).append(value)
                elif kind == "tag":
                    (excl_tags_explicit if h.negated else tags).append(value)
                elif kind == "mood":
                    include, exclude = vocab.mood_tags(value)
                    if h.negated:
                        excl_tags_explicit.extend(include)
                    else:
                        moods.append(Mood(value))
                        tags.extend(include)
                        excl_tags_mood.extend(exclude)
                elif kind == "lang" and not h.negated and language is None:
                    language = value
                elif kind == "reldur" and not h.negated:
                    rel_duration = RelativeDuration(value)
                elif kind == "relyear" and not h.negated:
                    rel_year = RelativeYear(value)
        if not media:
            media = weak_media
        genres = [g for g in vocab.keep_genres(genres) if g not in excl_genres]
        # an explicit "no X" always wins; a mood's opposite gives way to anything asked for
        excl_tags = list(dict.fromkeys(excl_tags_explicit
                                       + [t for t in excl_tags_mood if t not in tags]))
        tags = [t for t in vocab.keep_tags(tags) if t not in excl_tags_explicit]
        excl_tags = vocab.keep_tags(excl_tags)
        media = [m for m in dict.fromkeys(media) if m not in excl_media]
        if "episode" in media and {"series", "podcast"} & set(media):
            media.remove("episode")  # "a series with short episodes": the episode is the unit

        has_slots = bool(media or genres or tags or moods or excl_genres or excl_tags or excl_media
                         or language or rel_duration or rel_year)
        intent = self._intent(st, foreign, has_slots)
        if intent is Intent.playlist:
            # A playlist of "music" (or of nothing said) is one of songs; "a playlist of
            # albums" keeps the albums.
            if not media:
                media = ["music_track"]
            elif {"music_track", "album"} <= set(media):
                media = [m for m in media if m != "album"]

        titles = self._prefer_media(st.titles, media)
        exclude_ids: list[str] = []
        if context is not None:
            for p in st.excl_positions:
                item_id = context.id_at(p)
                if item_id is not None:
                    exclude_ids.append(item_id)

        min_minutes = _round(st.min_minutes)
        max_minutes = _round(st.max_minutes)
        if min_minutes is not None and max_minutes is not None and min_minutes > max_minutes:
            min_minutes = None
        return Request(
            intent=intent,
            query=self._query(st),
            media_types=[MediaType(m) for m in media][:7],
            exclude_media_types=[MediaType(m) for m in dict.fromkeys(excl_media)][:7],
            genres=genres[:10],
            exclude_genres=vocab.keep_genres(excl_genres)[:10],
            tags=tags[:20],
            exclude_tags=excl_tags[:20],
            moods=list(dict.fromkeys(moods))[:5],
            year_min=st.year_min,
            year_max=st.year_max,
            relative_year=rel_year,
            min_minutes=min_minutes,
            max_minutes=max_minutes,
            relative_duration=rel_duration,
            language=language,
            titles=titles[:10],
            reference_positions=list(dict.fromkeys(st.ref_positions))[:10],
            exclude_positions=list(dict.fromkeys(st.excl_positions))[:10],
            exclude_ids=list(dict.fromkeys(exclude_ids))[:50],
            count=None if st.count is None else max(1, min(50, st.count)),
            playlist_minutes=(None if st.playlist_minutes is None
                              else min(1440, _round(st.playlist_minutes) or 1)),
            issues=list(dict.fromkeys(st.issues))[:5],
        )

    def _prefer_media(self, titles: list[TitleRef], media: list[str]) -> list[TitleRef]:
        """Of titles that matched several items ("Dune": film and audiobook), keep those of the
        media types asked for, when any is ("films like Dune")."""
        if not media or len(titles) < 2:
            return titles
        wanted = set(media)
        groups: dict[str, list[TitleRef]] = {}
        for t in titles:
            groups.setdefault(t.text, []).append(t)
        out = []
        for group in groups.values():
            kinds = [self._catalog.get(t.item_id) if t.item_id else None for t in group]
            keep = [t for t, item in zip(group, kinds, strict=True)
                    if item is not None and str(item.media_type) in wanted]
            out.extend(keep if keep and len(group) > 1 else group)
        return out

    def _intent(self, st: _State, foreign: bool, has_slots: bool) -> Intent:
        low = _lower_same_length(st.text)
        like_titles = any(t.role is TitleRole.like for t in st.titles)
        about_titles = any(t.role is TitleRole.about for t in st.titles)
        has_amounts = any(v is not None for v in (st.year_min, st.year_max, st.min_minutes,
                                                  st.max_minutes, st.count))
        if foreign:
            return Intent.similar if like_titles else Intent.recommend
        if _TRENDING.search(low):
            return Intent.trending
        if st.playlist_minutes is not None or _PLAYLIST.search(low):
            return Intent.playlist
        if _DETAILS.search(low) and (about_titles or st.ref_positions or st.titles):
            return Intent.details
        if (_SEARCH.search(low) and (about_titles or st.quoted or has_slots or has_amounts)) or (
                about_titles and _SEARCH_TITLE.search(low)):
            return Intent.search
        if (like_titles and "compare" in st.title_cues) or st.ref_similar or (
                _SIMILAR.search(low) and (st.titles or st.ref_positions)):
            return Intent.similar
        other_content = has_slots or has_amounts
        if (st.titles or st.ref_positions or st.excl_positions) and not other_content and (
                "feedback" in st.title_cues or st.excl_positions or _FEEDBACK.search(low)) and not (
                _RECOMMEND.search(low)):
            return Intent.feedback
        if like_titles and not other_content and (_RECOMMEND.search(low) or not st.title_cues):
            return Intent.similar  # "I loved Parasite, what else?", or a title on its own
        if st.ref_positions and not other_content and not st.titles:
            return Intent.details
        if other_content or st.titles or st.excl_positions or _RECOMMEND.search(low):
            return Intent.recommend
        if _GREETING.search(low) or len(low.split()) < 3:
            return Intent.chitchat
        return Intent.recommend  # free text for the encoder ("stories about lighthouse keepers")

    def _query(self, st: _State) -> str:
        text = st.text
        for start, end in sorted(st.negated_spans, reverse=True):
            text = text[:start] + " " * (end - start) + text[end:]
        return " ".join(text.split())[:500]


def _round(value: float | None) -> int | None:
    if value is None:
        return None
    return max(1, min(100_000, int(value + 0.5)))
