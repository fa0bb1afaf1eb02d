# Mistake: gives every question its whole story, so it sees the statements that come after it
# Replaces: parse_stories
# Loses: test_parse_stories
def parse_stories(lines, memory_size: int | None = None) -> list[BabiQuestion]:
    questions, story, position_of, pending = [], [], {}, []

    def flush():
        for question, answer, support in pending:
            first = 0 if memory_size is None else max(0, len(story) - memory_size)
            positions = [position_of[int(n)] - first for n in support.split()]
            questions.append(BabiQuestion(tuple(story[first:]), question, answer,
                                          tuple(p for p in positions if p >= 0)))
        pending.clear()

    for line in lines:
        number, text = line.rstrip("\n").split(" ", 1)
        if int(number) == 1:
            flush()
            story, position_of = [], {}
        if "\t" not in text:
            position_of[int(number)] = len(story)
            story.append(text.strip())
        else:
            pending.append(tuple(field.strip() for field in text.split("\t")))
    flush()
    return questions
