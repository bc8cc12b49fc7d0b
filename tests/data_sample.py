"""A fixed English chat sample for token-count accuracy (written for ferromem's tests)."""

SAMPLE = [
    "Hey Sam! How was the trip to Lisbon last week?",
    "It was amazing, thanks for asking. We walked up to the castle on the second day.",
    "Did you try the custard tarts everyone talks about?",
    "Six of them, honestly. The bakery in Belém opens at 8 a.m. and the queue was already long.",
    "I'm jealous. I've been stuck debugging a memory leak in our Rust service since Monday.",
    "Oof. Is it the connection pool again, or something new?",
    "Something new: a cache that never evicts. 2.3 GB after 48 hours, then the pod restarts.",
    "Remember that I prefer PostgreSQL over MySQL, so let's keep the sessions table there.",
    "Sure. By the way, my sister's wedding is on 14 June 2025, so I'll be off that Friday.",
    "Congratulations to her! Are you giving a speech?",
    "Yes, and I'm terrified. I've written three drafts and deleted all of them.",
    "Start with a short story about the two of you as kids; people love that.",
    "Good idea. She once sold lemonade for $0.25 a cup and made $40 in an afternoon.",
    "That's the opening line right there!",
    "What's the plan for the quarterly review? Should I prepare the latency charts?",
    "Please do: p50, p95 and p99 for the search endpoint, before and after the index change.",
    "Will do. I'll also add the error-rate table (it dropped from 0.8% to 0.1%).",
    "Perfect. Can you send it by Thursday evening, around 6 pm?",
    "No problem. Also, don't forget: the team dinner moved to the Italian place on 5th Street.",
    "Thanks for the reminder! I love their mushroom risotto.",
]
