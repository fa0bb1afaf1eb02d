# Mistake: keeps the question lines in the story, as if they were statements
# Replaces: parse_stories
# Loses: test_parse_stories
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
        first = 0 if memory_size is None else max(0, len(story) - memory_size)
        positions = [position_of[int(n)] - first for n in support.split()]
        questions.append(BabiQuestion(tuple(story[first:]), question, answer,
                                      tuple(p for p in positions if p >= 0)))
        story.append(question)
    return questions
