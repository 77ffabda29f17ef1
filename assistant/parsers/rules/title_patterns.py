"""The patterns that find titles in a message: cues, opinions, and the words around a title.

Used by :mod:`~assistant.parsers.rules.titles` and the modules it calls.
"""

from __future__ import annotations

import re

# where a title is said to be: "is X on here?", "is X available?"
AVAILABLE = (r"(?:available|on\s+here|here|in\s+(?:the|your)\s+(?:catalog(?:ue)?|library"
              r"|collection|app)|on\s+(?:encore|the\s+app|this\s+app|your\s+app|this\s+service))\b")
# "I haven't seen Airplane!", "never heard of it": a title neither liked nor disliked
UNSEEN = (r"(?:(?:have|has|had)n'?t|(?:have|has|had)\s+not|never|not)\s+"
          r"(?:yet\s+|actually\s+|ever\s+)?(?:seen|watched|heard\s+of)|(?:didn'?t|did\s+not|never)\s+(?:see|watch)|never\s+saw")
TITLE_CUE = re.compile(
    r"\b(?:(?P<unseen>(?:i\s+|we\s+)?(?:" + UNSEEN + r"))"
    r"|(?P<not>not\s+like|nothing\s+like|unlike|not\s+as|hated|hate|didn'?t\s+(?:like|enjoy|love)|"
    r"did\s+not\s+(?:like|enjoy|love)|disliked|dislike|not\s+a\s+fan\s+of|(?:(?:have|i'?ve)\s+)?"
    r"already\s+(?:seen|watched|heard|read)|except(?:\s+for)?|besides|other\s+than|apart\s+from|"
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
    rf"|(?:is|are)(?=\s+[^.!?]{{1,60}}?\s+{AVAILABLE})"
    r"|is\s+there|play|put\s+on|show\s+me|how\s+about)"
    r"|(?P<like>similar\s+to|like|in\s+the\s+vein\s+of|reminds?\s+me\s+of|along\s+the\s+lines\s+of|"
    r"in\s+the\s+style\s+of|same\s+vibe\s+as|as\s+good\s+as|reminiscent\s+of|akin\s+to|a\s+la"
    # "with the vibe of", "the same feel as", "a similar energy to"
    r"|(?:the\s+|a\s+)?(?:same\s+|similar\s+)?(?:vibes?|feel|feeling|energy|spirit|tone|atmosphere"
    r"|aesthetic)\s+(?:of|as|to)"
    r"|fans?\s+of|loved|love|liked|enjoyed|adored))"
    r"\s+")
COMPARE_CUES = re.compile(
    r"^(?:similar|like|in\s+the|reminds?|along|same|as\s+good|reminiscent|akin|a\s+la|the\s|a\s"
    r"|vibes?|feel|energy|spirit|tone|atmosphere|aesthetic)")
WEAK_CUES = re.compile(r"^(?:not$|what|is\s+there|find|do\s+you|search|look)")
WINDOW_STOP = re.compile(
    r"[,;!?\"()]|\.(?:\s|$)|\s(?:but|though|although|except|without|please|only|because|so|or|since|"
    r"if|when|while|which|who|that's|instead|rather|i|i'm|i'd|we|you|lol|anything|something|"
    r"not|no|and\s+(?:no|not|nothing|something|anything|maybe|also|under|over|from))(?=\s|$)")
SKIP_FIRST = frozenset(
    "me us you him her them it its that this those these something anything some any more one ones "
    "stuff things too very really so much better else other another same what which how good great "
    "all everything nothing is are was be been a an the my your our their his i i'm we they there "
    "here now then just only also even still either neither".split())
LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
# "seen" and "watched" are not on this list: "i also watched Iron Man" is a title the person
# knows, most often one they liked; "already seen" is (see TITLE_CUE)
ROLE_BEFORE_NOT = re.compile(
    r"(?:\bnot|\bno|\bnothing\s+like|\bunlike|\bhated?|\bdidn'?t\s+(?:like|enjoy|love)|\bdisliked?|"
    r"\bexcept|\bbesides|\bother\s+than|\bapart\s+from|\banything\s+but|\balready\s+(?:seen|watched))"
    r"\b\W*(?:\w+\W+){0,2}$")
ROLE_BEFORE_ABOUT = re.compile(
    r"(?:\babout|\bwhat(?:'s|\s+is|\s+was)|\bfind|\bsearch(?:\s+for)?|\blook\s+up|\binfo"
    r"|\bdetails|\bplay|\bwho\s+\w+|\bhow\s+long\s+(?:is|does)|\b(?:looking|searching)\s+for"
    r"|\bhave\s+you\s+got|\bi'?m\s+after|\bcan\s+i\s+\w+)\W*(?:\w+\W+){0,2}$")
ROLE_BEFORE_FEEDBACK = re.compile(
    r"\b(?:loved?|liked|enjoyed|adored|fan\s+of|fav(?:ou?rite)?s?(?:\s+\w+){0,4}\s+(?:is|are|was|were"
    r"|has\s+to\s+be|would\s+be))\W*(?:\w+\W+){0,2}$")
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
OPINION_AFTER = re.compile(
    rf"^\s*(?:was|is|were|are|'s)\s+(?:an?\s+|the\s+)?{_ADVERBS}(?:(?P<good>{_GOOD})|(?P<bad>{_BAD}))"
    rf"(?![\w-]){_OPINION_TAIL}(?![\w-])")
# "honestly hereditary was dreadful": a lower-case title only as the subject of an opinion
OPINION_SUBJECT = re.compile(
    rf"(?:^|[.!?,;]\s*)(?:(?:honestly|personally|ok|okay|well|wow|man|so|and|but|yeah|i\s+think|"
    rf"i\s+thought|i\s+found\s+that)\s*,?\s+)*(?P<span>[^\W\d_][^.!?,;\x00]{{0,60}}?)"
    rf"(?=\s+(?:was|is|were|'s)\s+(?:an?\s+|the\s+)?{_ADVERBS}(?:{_GOOD}|{_BAD})(?![\w-]))")
# what the person says of a title they just gave an opinion of: "I hated Hereditary, far too scary"
OPINION_REASON = re.compile(
    r"^\s*[,;:-]?\s*(?:(?:it|that)(?:'s|\s+was|\s+is)\s+)?(?:(?:way|far|much|just|a\s+bit|kind\s+of)\s+)?"
    r"(?:too|so|really|very|such\s+an?)\s+[\w-]+(?:\s+(?:and|but)\s+(?:too\s+|so\s+)?[\w-]+)?"
    r"\s*(?=$|[.!?;,])")
PLACE_AFTER = re.compile(rf"^\s*{AVAILABLE}")
LIKENESS_AFTER = re.compile(
    r"^\s*(?:-\s*)?(?:vibes?|energy|-?esque|-?style|type\s+(?:of\s+)?(?:stuff|things?|shows?|films?|"
    r"movies?|music))\b")
CAP_CONNECT = frozenset("of the and a an in on at to for from with & de la le du von y is".split())
CAP_STOP = frozenset(
    "i i'm i'd i've im id ive something some any anything give show recommend find tell what "
    "what's whats can could would please play make only more not no hi hey hello thanks thank "
    "just maybe suggest looking need want got do is are how who where when why ok okay yes "
    "let let's lets put create build search similar like loved love liked hated also and but "
    "or so if then now tonight today one two three four five six seven eight nine ten a an "
    "the my this that these those it is any".split())
OCCASION_BEFORE = frozenset("for on at during over around until till".split())
TITLE_VERBS = frozenset(
    "watched watch watching saw seen see heard hear read finished binged rewatched loved love "
    "liked enjoyed hated disliked adored about like as to".split())
FAN_AFTER = re.compile(r"^['\u2019]?s?\s+(?:fans?|lovers?|listeners?|watchers?|viewers?|readers?|"
                        r"addicts?|obsessives?|vibes?|energy|style)\b|^-(?:esque|style|like)\b")
QUOTED = re.compile(r"\"([^\"]{1,120})\"|(?<![\w])'([^']{1,120})'(?![\w])")
