"""The seed's pure-Python IndexedMemory (Phidata tutorial, chapter 4), copied faithfully.

Only the base class ``Memory`` (an empty phidata interface) is dropped; the bodies are the
seed's, line for line, so that the benchmarks measure what the seed actually does.
"""

import re
import time
from collections import defaultdict
from typing import Any, Dict, List


class IndexedMemory:
    """Memory system with full-text indexing for fast search."""

    def __init__(self):
        self.messages = []
        self.word_index = defaultdict(list)  # word -> [message_indices]
        self.topic_index = defaultdict(list)  # topic -> [message_indices]

    def add_message(self, role: str, content: str):
        """Add message and update indexes."""

        message_idx = len(self.messages)
        message = {
            "role": role,
            "content": content,
            "timestamp": time.time(),
            "index": message_idx
        }

        self.messages.append(message)

        # Update word index
        self._index_words(content, message_idx)

        # Update topic index
        self._index_topics(content, message_idx)

    def search_messages(self, query: str, limit: int = 5) -> List[Dict[str, Any]]:
        """Search messages using indexes."""

        query_lower = query.lower()
        query_words = set(query_lower.split())

        # Find messages containing query words
        candidate_indices = set()

        for word in query_words:
            if word in self.word_index:
                candidate_indices.update(self.word_index[word])

        # Score candidates by relevance
        scored_candidates = []

        for idx in candidate_indices:
            message = self.messages[idx]
            score = self._calculate_relevance_score(query_lower, message["content"])
            scored_candidates.append((score, message))

        # Sort by score and return top results
        scored_candidates.sort(key=lambda x: x[0], reverse=True)

        return [msg for score, msg in scored_candidates[:limit]]

    def get_context(self, query: str = None) -> str:
        """Get context with optional query-based retrieval."""

        if query:
            # Use search to find relevant messages
            relevant_messages = self.search_messages(query, limit=10)
        else:
            # Return recent messages
            relevant_messages = self.messages[-10:]

        context = "\n".join([
            f"{msg['role']}: {msg['content']}"
            for msg in relevant_messages
        ])

        return context

    def _index_words(self, content: str, message_idx: int):
        """Index individual words."""

        # Simple word tokenization (could be enhanced)
        words = re.findall(r'\b\w+\b', content.lower())

        for word in set(words):  # Unique words only
            self.word_index[word].append(message_idx)

    def _index_topics(self, content: str, message_idx: int):
        """Index topics/themes."""

        content_lower = content.lower()

        # Simple topic detection (could use NLP)
        topics = []

        if any(word in content_lower for word in ["python", "code", "programming"]):
            topics.append("programming")

        if any(word in content_lower for word in ["machine learning", "ai", "model"]):
            topics.append("ai_ml")

        if any(word in content_lower for word in ["database", "sql", "data"]):
            topics.append("database")

        if any(word in content_lower for word in ["web", "http", "api"]):
            topics.append("web")

        for topic in topics:
            self.topic_index[topic].append(message_idx)

    def _calculate_relevance_score(self, query: str, content: str) -> float:
        """Calculate relevance score between query and content."""

        query_words = set(query.lower().split())
        content_words = set(re.findall(r'\b\w+\b', content.lower()))

        # Jaccard similarity
        intersection = len(query_words & content_words)
        union = len(query_words | content_words)

        if union == 0:
            return 0.0

        return intersection / union
