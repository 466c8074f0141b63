from flask import Flask
import os

app = Flask(__name__)


@app.route('/')
def hello_world():
    return 'Hello, World!'


if __name__ == '__main__':
    # The tutorial runs app.run(host='0.0.0.0'), i.e. port 5000. The bench's one
    # change: PORT and HOST may come from the environment, so the host-mode
    # container serves on a port of the bench's own (5000 is the dev stack's).
    app.run(host=os.environ.get('HOST', '0.0.0.0'), port=int(os.environ.get('PORT', '5000')))
