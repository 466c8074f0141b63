"""The tutorial's Flask app: GET / answers "Hello, World!"."""

import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"


if __name__ == "__main__":
    # The tutorial's way (`python app.py`); the image serves with uWSGI instead (app/uwsgi.ini).
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "5000")))
