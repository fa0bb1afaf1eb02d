# Mistake: the memory window keeps the oldest statements of the story instead of the most recent ones
# Replaces: parse_stories
# Loses: test_parse_window
def parse_stories(lines, memory_size: int | None = None) -> list[BabiQuestion]:
    questions, story, position_of = [], [], {}
    for line in lines:
        number, text = line.rstrip("\n").split(" ", 1)
        if int(number) == 1:
            story, position_of = [], {}
        if "\t" not in text:
            position_of[int(number)] = len(story)
            story.append(text.strip())
            continue
        question, answer, support = (field.strip() for field in text.split("\t"))
        window = tuple(story if memory_size is None else story[:memory_size])
        positions = [position_of[int(n)] for n in support.split()]
        questions.append(BabiQuestion(window, question, answer, tuple(p for p in positions if p < len(window))))
    return questions
