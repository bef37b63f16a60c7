"""Word lists the sentence splitter consults: abbreviations by behaviour, and sentence starters.

Russian and English lists are merged: Cyrillic and Latin spellings never collide,
so one table serves both languages and mixed-script text. Keys are lower-case
and written without their final dot ("u.s" for "U.S.", "т.е" for "т.е.").
"""

from __future__ import annotations

# Never end a sentence: titles, street and place words, "that is", "see", ...
NON_FINAL = frozenset(
    """
    mr mrs ms messrs dr prof gen sen rep gov lt col sgt capt cpt maj adm cmdr rev hon pres supt
    st sts mt ft fr vs cf approx ca dept e.g i.e
    ул им пр-т просп пер пл наб бул ш пос дер ст стр ч т т.е т.к т.н т.ч т.о д п с кв корп
    акад проф доц ген тов гр г-н г-жа см напр ср англ нем франц фр лат рус букв ок св о оз р пр
    р-н
    """.split()
)

# Before a number they never end a sentence ("No. 1", "ст. 5", "Oct. 5").
BEFORE_NUMBER = frozenset(
    """
    no nos vol p pp fig art para sec ch tab b
    jan feb mar apr jun jul aug sep sept oct nov dec
    рис табл гл разд
    янв фев февр мар апр июн июл авг сен сент окт нояб ноя дек
    """.split()
)

# Usually end the sentence when a capital letter follows ("млн. В прошлом году", "etc. The").
FINAL = frozenset(
    """
    etc
    др млн млрд трлн тыс руб долл коп чел экз т.д т.п
    """.split()
)

# May end the sentence, but only when a typical sentence-opening word follows
# ("in the U.S. The", "в 2016 г. В Москве") — otherwise a name usually follows.
FINAL_BEFORE_STARTER = frozenset(
    """
    u.s u.k u.n e.u u.s.a d.c n.y a.m p.m inc ltd corp co jr sr bros plc llc
    г гг в вв обл
    """.split()
)

# Abbreviations that end a sentence after a given word ("и т. д.", "и пр.") and
# otherwise belong to NON_FINAL ("д. 5", "п. Мирный", "пр. Мира").
FINAL_AFTER = {"д": "т", "п": "т", "пр": "и"}

# Abbreviated first names written like initials ("Дж. Керри").
NAME_INITIALS = frozenset("дж вл ал вс th wm chas jas geo".split())

# Words that often open a sentence; after an ambiguous abbreviation they tip the balance.
STARTERS = frozenset(
    """
    the a an he she it its they we i you his her their our my this that these those there here
    but and or so yet in on at for as if when while after before however meanwhile also
    some many most one two no not only all both each according since during despite although
    mr mrs ms
    в во на по с со к ко о об от до из за для при у это этот эта эти он она оно они мы я вы
    но а и однако также кроме как так что когда если после тогда затем поэтому сейчас сегодня
    вчера ранее позже между среди там здесь все всего его ее её их не ни уже еще ещё
    """.split()
)
