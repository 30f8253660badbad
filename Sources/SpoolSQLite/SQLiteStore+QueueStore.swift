import SpoolStorage

extension SQLiteStore: QueueStore {}
