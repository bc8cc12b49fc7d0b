"""The seed's pure-Python importance scorer (Phidata tutorial, chapter 4, HierarchicalMemory),
copied faithfully.

Only the scorer is kept (the keyword list from ``__init__`` and ``_calculate_importance``); the
body is the seed's, line for line, so that the benchmark measures what the seed actually does.
"""


class HierarchicalMemory:
    """Multi-level memory system with different retention periods."""

    def __init__(self):
        self.short_term = []  # Recent messages (last 10)
        self.medium_term = {}  # Important facts (last 24 hours)
        self.long_term = {}    # Core knowledge (persistent)

        # Importance scoring
        self.importance_keywords = [
            "remember", "important", "always", "never forget",
            "key point", "essential", "core", "fundamental"
        ]

    def _calculate_importance(self, content: str) -> float:
        """Calculate importance score for content."""

        score = 0.5  # Base score

        content_lower = content.lower()

        # Check for importance keywords
        keyword_matches = sum(1 for keyword in self.importance_keywords
                            if keyword in content_lower)
        score += keyword_matches * 0.1

        # Length bonus (detailed information is often more important)
        if len(content.split()) > 20:
            score += 0.1

        # Question marks indicate curiosity/learning
        if "?" in content:
            score += 0.05

        return min(1.0, score)
