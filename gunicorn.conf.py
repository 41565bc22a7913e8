"""gunicorn settings that every way of serving the site shares: gunicorn reads this file
from its working directory (the Dockerfile's and docker-compose.yml's /app, the tests' checkout).
"""

# A request line longer than this gets gunicorn's own bare 400 page, before Django
# can say what was wrong. Its default (4,094 bytes) turned away a search of 5,000
# characters typed or pasted into an address; at gunicorn's largest value such
# a search reaches the search page and its message ("That search is too long: use
# at most 200 characters"). Every search box takes at most those 200 characters.
limit_request_line = 8190
