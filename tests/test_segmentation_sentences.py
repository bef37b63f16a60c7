"""Sentence boundaries in the cases news text is made of: abbreviations, initials, numbers, quotes, dashes."""

from __future__ import annotations

import pytest

from crosswire_server.segmentation import segment
from support.documents import assert_well_formed


def sentences(text: str, language: str) -> list[str]:
    document = segment(text, language)
    assert_well_formed(document)
    return [s.text for s in document.sentences]


RUSSIAN = [
    # abbreviations inside a sentence
    ("Он приехал в т. ч. в Москву. Потом уехал.", ["Он приехал в т. ч. в Москву.", "Потом уехал."]),
    ("Это важно, т. е. срочно. Так сказал он.", ["Это важно, т. е. срочно.", "Так сказал он."]),
    ("Это важно, т.е. срочно. Так сказал он.", ["Это важно, т.е. срочно.", "Так сказал он."]),
    ("Библиотека им. Ленина открыта. Вход свободный.", ["Библиотека им. Ленина открыта.", "Вход свободный."]),
    ("Адрес: ул. Ленина, д. 5. Вход со двора.", ["Адрес: ул. Ленина, д. 5.", "Вход со двора."]),
    ("Он живет в г. Москве. Там хорошо.", ["Он живет в г. Москве.", "Там хорошо."]),
    ("Результаты показаны ниже (см. рис. 5). Они впечатляют.",
     ["Результаты показаны ниже (см. рис. 5).", "Они впечатляют."]),
    # abbreviations that end a sentence
    ("Книги, журналы и т. д. Всё это продавалось.", ["Книги, журналы и т. д.", "Всё это продавалось."]),
    ("Книги, журналы и т.п. Всё это продавалось.", ["Книги, журналы и т.п.", "Всё это продавалось."]),
    ("Это случилось в 2016 г. В Москве прошли митинги.", ["Это случилось в 2016 г.", "В Москве прошли митинги."]),
    ("Здание построено в 1990-х гг. В нем работают 500 человек.",
     ["Здание построено в 1990-х гг.", "В нем работают 500 человек."]),
    ("В XX в. Россия пережила две революции.", ["В XX в. Россия пережила две революции."]),
    ("Бюджет составил 6 000 млн руб. В прошлом году он был меньше.",
     ["Бюджет составил 6 000 млн руб.", "В прошлом году он был меньше."]),
    ("Сумма — 5 млрд. Это рекорд.", ["Сумма — 5 млрд.", "Это рекорд."]),
    ("Тираж — 10 тыс. экз. Книга разошлась за неделю.", ["Тираж — 10 тыс. экз.", "Книга разошлась за неделю."]),
    ("Курс составит в 2021-2025 гг. - 66,4 руб. за доллар.", ["Курс составит в 2021-2025 гг. - 66,4 руб. за доллар."]),
    # initials and patronymics
    ("В. В. Путин провел совещание. Об этом сообщили в Кремле.",
     ["В. В. Путин провел совещание.", "Об этом сообщили в Кремле."]),
    ("Госсекретарь США Дж. Керри и глава МИД РФ С. Лавров встретились.",
     ["Госсекретарь США Дж. Керри и глава МИД РФ С. Лавров встретились."]),
    ("Об этом заявил Владимир Владимирович Путин. Встреча прошла в Кремле.",
     ["Об этом заявил Владимир Владимирович Путин.", "Встреча прошла в Кремле."]),
    # numbers, dates and times
    ("Встреча началась в 19:10 и закончилась 25.10.2016 в 21:00. Итоги подведут завтра.",
     ["Встреча началась в 19:10 и закончилась 25.10.2016 в 21:00.", "Итоги подведут завтра."]),
    ("В акции участвовали 6 000 человек. Выручка выросла на 3,5%. Прибыль упала.",
     ["В акции участвовали 6 000 человек.", "Выручка выросла на 3,5%.", "Прибыль упала."]),
    ("Ночью +13...+15 градусов, днем до +24. Осадков не ожидается.",
     ["Ночью +13...+15 градусов, днем до +24.", "Осадков не ожидается."]),
    ("1. Первый пункт плана.", ["1. Первый пункт плана."]),
    # quotes and attributions after a dash
    ('"Все идет по плану", — сказал он. Затем он ушел.', ['"Все идет по плану", — сказал он.', "Затем он ушел."]),
    ("«Мы готовы!» — заявил министр. «Переговоры продолжатся», — добавил он.",
     ["«Мы готовы!» — заявил министр.", "«Переговоры продолжатся», — добавил он."]),
    ("«Кто виноват?» — спросил он. Ответа не было.", ["«Кто виноват?» — спросил он.", "Ответа не было."]),
    ("„Это конец“, — сказал он. Все замолчали.", ["„Это конец“, — сказал он.", "Все замолчали."]),
    ('"Мы готовы. Мы ждем", — сказал он.', ['"Мы готовы.', 'Мы ждем", — сказал он.']),
    ('Он сказал: "Мы готовы." Затем ушел.', ['Он сказал: "Мы готовы."', "Затем ушел."]),
    # ellipses, parentheses, em-dash dialogue
    ("Он задумался... Потом ответил.", ["Он задумался...", "Потом ответил."]),
    ("Он задумался… и ответил.", ["Он задумался… и ответил."]),
    ("Он вернулся (это было в 2015 г.). Все обрадовались.", ["Он вернулся (это было в 2015 г.).", "Все обрадовались."]),
    ("Это база (авиабаза НАТО. Ред.) в бухте Суда.", ["Это база (авиабаза НАТО. Ред.) в бухте Суда."]),
    ("— Вы готовы? — спросил он. — Да, — ответил я.", ["— Вы готовы? — спросил он.", "— Да, — ответил я."]),
    ("Находясь в России, вы должны посетить Камчатку, - написал он. - Это сокровище России.",
     ["Находясь в России, вы должны посетить Камчатку, - написал он.", "- Это сокровище России."]),
    ("Стоимость — 5 руб./кг. Спрос растет!", ["Стоимость — 5 руб./кг.", "Спрос растет!"]),
    ("Сайт сообщает Kostroma.Today. Школьник сдал экзамен.", ["Сайт сообщает Kostroma.Today.", "Школьник сдал экзамен."]),
]

ENGLISH = [
    ("Mr. Smith met Dr. Jones at 10 a.m. on Monday.", ["Mr. Smith met Dr. Jones at 10 a.m. on Monday."]),
    ("The meeting ended at 5 p.m. The talks resume tomorrow.",
     ["The meeting ended at 5 p.m.", "The talks resume tomorrow."]),
    ("Gen. Mattis and Sen. McCain spoke. They disagreed.", ["Gen. Mattis and Sen. McCain spoke.", "They disagreed."]),
    ("The U.S. Senate voted. The U.N. General Assembly did not.",
     ["The U.S. Senate voted.", "The U.N. General Assembly did not."]),
    ("He lives in the U.S. He moved there in 2010.", ["He lives in the U.S.", "He moved there in 2010."]),
    ("John F. Kennedy was shot in 1963. The nation mourned.", ["John F. Kennedy was shot in 1963.", "The nation mourned."]),
    ("Growth was 3.5 percent. Inflation fell to 2.1%.", ["Growth was 3.5 percent.", "Inflation fell to 2.1%."]),
    ('"We will win," he said. "There is no doubt."', ['"We will win," he said.', '"There is no doubt."']),
    ('"Is this true?" he asked. Nobody answered.', ['"Is this true?" he asked.', "Nobody answered."]),
    ('"Maybe it\'s time for a duet?" Zhukov wrote under a video.',
     ['"Maybe it\'s time for a duet?" Zhukov wrote under a video.']),
    ("Apple Inc. reported profits. Shares rose.", ["Apple Inc. reported profits.", "Shares rose."]),
    ("He bought shares of Apple Inc. The company later said it was pleased.",
     ["He bought shares of Apple Inc.", "The company later said it was pleased."]),
    ("He was ranked No. 1 in the world. He is No. 2 now.", ["He was ranked No. 1 in the world.", "He is No. 2 now."]),
    ("Acme Corp. and Widget Co. merged on Oct. 5. Shares rose.",
     ["Acme Corp. and Widget Co. merged on Oct. 5.", "Shares rose."]),
    ("He prayed at St. Peter's Square. Then he left.", ["He prayed at St. Peter's Square.", "Then he left."]),
    ("The driver (A. Vanik, b. 1958) was unhurt.", ["The driver (A. Vanik, b. 1958) was unhurt."]),
    ("Wait... What happened? Nobody knows!", ["Wait...", "What happened?", "Nobody knows!"]),
    ("He said: 'No.' Then he left.", ["He said: 'No.'", "Then he left."]),
    ('It fell "on Syrian territory." said President Putin', ['It fell "on Syrian territory." said President Putin']),
    ("The report was cited by Gazeta.Ru with reference to Goal.com. Monaco lost.",
     ["The report was cited by Gazeta.Ru with reference to Goal.com.", "Monaco lost."]),
    ('"This is unfair," the attorney added. rus.err.ee wrote that the case goes on.',
     ['"This is unfair," the attorney added.', "rus.err.ee wrote that the case goes on."]),
]

CHINESE = [
    ("我们准备好了。他说！明天见？", ["我们准备好了。", "他说！", "明天见？"]),
    ("他说：“我们准备好了。”然后离开了。", ["他说：“我们准备好了。”", "然后离开了。"]),
]


@pytest.mark.parametrize(("text", "expected"), RUSSIAN)
def test_russian(text: str, expected: list[str]) -> None:
    assert sentences(text, "ru") == expected


@pytest.mark.parametrize(("text", "expected"), ENGLISH)
def test_english(text: str, expected: list[str]) -> None:
    assert sentences(text, "en") == expected


@pytest.mark.parametrize(("text", "expected"), CHINESE)
def test_chinese(text: str, expected: list[str]) -> None:
    assert sentences(text, "zh") == expected


def test_lines_are_paragraphs_and_wrapped_lines_join() -> None:
    text = "Первый абзац. Второе предложение\nпродолжается здесь.\n\nВторой абзац без точки\nТретий абзац."
    document = segment(text, "ru")
    assert_well_formed(document)
    assert [(s.text, s.paragraph) for s in document.sentences] == [
        ("Первый абзац.", 0),
        ("Второе предложение\nпродолжается здесь.", 0),
        ("Второй абзац без точки", 1),
        ("Третий абзац.", 2),
    ]
