"""The bAbI loader: stories, their resets, the memory window, answers and supporting facts."""

from __future__ import annotations

import pytest

from nlpcourse.babi import TASKS, BabiQuestion, load_task, parse_babi, task_file, words


def test_the_first_questions_of_task_1() -> None:
    questions = load_task(1, "train", memory_size=None)
    assert questions[0] == BabiQuestion(("Mary moved to the bathroom.", "John went to the hallway."),
                                        "Where is Mary?", "bathroom", (0,))
    assert questions[1] == BabiQuestion(("Mary moved to the bathroom.", "John went to the hallway.",
                                         "Daniel went back to the hallway.", "Sandra moved to the garden."),
                                        "Where is Daniel?", "hallway", (2,))
    assert words(questions[1].story[2]) == ["daniel", "went", "back", "to", "the", "hallway"]
    assert words("Where is Daniel?") == ["where", "is", "daniel"]


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_file_has_1000_questions_with_supporting_facts_in_their_story(task: int) -> None:
    for split in ("train", "test"):
        questions = load_task(task, split, memory_size=None)
        assert len(questions) == 1000, task_file(task, split)
        assert all(q.supporting and all(0 <= p < len(q.story) for p in q.supporting) for q in questions)


def test_a_new_story_starts_at_line_1_and_questions_are_not_stored() -> None:
    lines = ["1 A went home.", "2 Where is A?\thome\t1", "3 B went out.", "4 Where is B?\tout\t3",
             "1 C slept.", "2 Where is C?\tbed\t1"]
    first, second, third = parse_babi(lines)
    assert first.story == ("A went home.",)
    assert second.story == ("A went home.", "B went out.") and second.supporting == (1,)
    assert third.story == ("C slept.",) and third.supporting == (0,)


def test_the_memory_window_keeps_the_latest_statements_and_shifts_supporting_facts() -> None:
    lines = [f"{n} S{n}." for n in range(1, 6)] + ["6 Q?\ta\t2 5"]
    (question,) = parse_babi(lines, memory_size=3)
    assert question.story == ("S3.", "S4.", "S5.")
    assert question.supporting == (2,)  # S2 fell out of the window
    assert parse_babi(lines)[0].supporting == (1, 4)
    whole = load_task(3, "train", memory_size=None)
    cut = load_task(3, "train", memory_size=50)
    assert max(len(q.story) for q in whole) > 50 and max(len(q.story) for q in cut) == 50


def test_task_8_answers_lists_and_errors_name_the_line() -> None:
    assert any("," in q.answer for q in load_task(8, "test"))
    with pytest.raises(ValueError, match="line 2 is not"):
        parse_babi(["1 A went home.", "oops"])
    with pytest.raises(ValueError, match="line 2: supporting fact 7"):
        parse_babi(["1 A went home.", "2 Where is A?\thome\t7"])
    with pytest.raises(ValueError, match="numbered 1 to 20"):
        task_file(21, "train")
    with pytest.raises(ValueError, match="split"):
        task_file(1, "valid")
