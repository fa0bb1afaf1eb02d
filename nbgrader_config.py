"""nbgrader configuration: the course root is this repository.

solutions/<assignment>/   nbgrader's source directory (solution cells + hidden tests)
assignments/<assignment>/ nbgrader's release directory (the student versions, committed)

Instructor work areas (gradebooks, submissions, autograded notebooks, feedback) live under
grading/<assignment>/ and are created by the `course` CLI; they are never committed.
"""

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.db_url = "sqlite:///build/gradebook.db"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
