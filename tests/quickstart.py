import ferromem

memory = ferromem.SQLiteMemory("agent.db")  # durable; ferromem.IndexedMemory() keeps it in process
memory.add_message("user", "I keep my bike in the garage")
print(memory.search("where is my bike?", limit=1))
print(memory.get_context(max_tokens=1000))
