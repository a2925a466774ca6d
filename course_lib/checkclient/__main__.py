"""``course-check NOTEBOOK.ipynb``: predicted score and feedback from the
course's check service (see :mod:`course_lib.checkclient`)."""
import argparse
import json
import sys

from . import CheckError, check_notebook, format_result


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="course-check",
        description="Send a saved notebook to the course's check service: it grades your "
                    "solution cells on fresh hidden inputs and prints the predicted score "
                    "and the feedback. Save the notebook first.")
    parser.add_argument("notebook", help="the assignment notebook (.ipynb)")
    parser.add_argument("--json", action="store_true", help="print the raw answer as JSON")
    args = parser.parse_args(argv)
    try:
        result = check_notebook(args.notebook)
    except CheckError as exc:
        print(f"course-check: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
