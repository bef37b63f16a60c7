"""Sentences that exercise the sentence encoder's tokenizer and forward pass: Russian, English and Chinese news,
figures, odd spacing and quotes."""

MIXED_SENTENCES = [
    "Russia's navy held a parade in St Petersburg on Sunday, the Kremlin said.",
    "Военно-морской флот России провёл парад в Санкт-Петербурге в воскресенье.",
    "The company's shares rose 4.5% to $1,234.56 after the announcement.",
    "北京时间7月25日，俄罗斯举行海军节阅兵。",
    "  Spaces,\ttabs and ‘curly’ “quotes” — and dashes…  ",
]
