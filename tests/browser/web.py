"""What the browser tests share about the pages they open (the dashboard's and the class board's)."""
import urllib.request


def answers(url: str) -> bool:
    """True once ``url`` answers 200 (a Voilà page being served); any refusal or error is "not yet"."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False
