/// The schema migrations of every backend, embedded from this folder into the binary: `SQLite/NNNN_name.sql` and
/// `PostgreSQL/NNNN_pg_name.sql` (file names are unique across both: the embedding names them by file name alone).
///
/// A file once released is never edited: a change is a new file, listed here in order.
package enum SpoolMigrations {
    /// SQLite's migrations in order, by identifier (the file name without `.sql`).
    package static let sqlite: [(identifier: String, sql: String)] = [
        ("0001_queues", String(decoding: PackageResources._001_queues_sql, as: UTF8.self)),
        ("0002_receive_attempts", String(decoding: PackageResources._002_receive_attempts_sql, as: UTF8.self)),
        ("0003_functions", String(decoding: PackageResources._003_functions_sql, as: UTF8.self)),
        ("0004_async_invocations", String(decoding: PackageResources._004_async_invocations_sql, as: UTF8.self)),
        ("0005_event_source_mappings", String(decoding: PackageResources._005_event_source_mappings_sql, as: UTF8.self)),
        ("0006_streams", String(decoding: PackageResources._006_streams_sql, as: UTF8.self)),
        ("0007_invocation_journal", String(decoding: PackageResources._007_invocation_journal_sql, as: UTF8.self)),
        ("0008_backlog_counts", String(decoding: PackageResources._008_backlog_counts_sql, as: UTF8.self)),
        ("0009_store_generation", String(decoding: PackageResources._009_store_generation_sql, as: UTF8.self)),
        ("0010_backlog_counts_in_memory", String(decoding: PackageResources._010_backlog_counts_in_memory_sql, as: UTF8.self)),
        ("0011_destination_dead_letters", String(decoding: PackageResources._011_destination_dead_letters_sql, as: UTF8.self)),
        ("0012_stream_retry_state", String(decoding: PackageResources._012_stream_retry_state_sql, as: UTF8.self)),
        ("0013_stream_resource_policy", String(decoding: PackageResources._013_stream_resource_policy_sql, as: UTF8.self)),
        ("0014_dedup_scope", String(decoding: PackageResources._014_dedup_scope_sql, as: UTF8.self)),
        ("0015_stream_consumer", String(decoding: PackageResources._015_stream_consumer_sql, as: UTF8.self)),
        ("0016_reshard", String(decoding: PackageResources._016_reshard_sql, as: UTF8.self)),
        ("0017_function_versions", String(decoding: PackageResources._017_function_versions_sql, as: UTF8.self)),
        ("0018_function_urls", String(decoding: PackageResources._018_function_urls_sql, as: UTF8.self)),
        ("0019_layers", String(decoding: PackageResources._019_layers_sql, as: UTF8.self)),
        ("0020_function_policies", String(decoding: PackageResources._020_function_policies_sql, as: UTF8.self)),
    ]

    /// PostgreSQL's migrations in order, by identifier.
    package static let postgres: [(identifier: String, sql: String)] = [
        ("0001_pg_generation", String(decoding: PackageResources._001_pg_generation_sql, as: UTF8.self)),
        ("0002_pg_queues", String(decoding: PackageResources._002_pg_queues_sql, as: UTF8.self)),
        ("0003_pg_functions_invocations", String(decoding: PackageResources._003_pg_functions_invocations_sql, as: UTF8.self)),
        ("0004_pg_streams_mappings", String(decoding: PackageResources._004_pg_streams_mappings_sql, as: UTF8.self)),
        ("0005_pg_invocation_journal", String(decoding: PackageResources._005_pg_invocation_journal_sql, as: UTF8.self)),
        ("0006_pg_backlog_counts", String(decoding: PackageResources._006_pg_backlog_counts_sql, as: UTF8.self)),
        ("0007_pg_cluster", String(decoding: PackageResources._007_pg_cluster_sql, as: UTF8.self)),
        ("0008_pg_stream_resource_policy", String(decoding: PackageResources._008_pg_stream_resource_policy_sql, as: UTF8.self)),
        ("0009_pg_dedup_scope", String(decoding: PackageResources._009_pg_dedup_scope_sql, as: UTF8.self)),
        ("0010_pg_stream_consumer", String(decoding: PackageResources._010_pg_stream_consumer_sql, as: UTF8.self)),
        ("0011_pg_reshard", String(decoding: PackageResources._011_pg_reshard_sql, as: UTF8.self)),
        ("0012_pg_function_versions", String(decoding: PackageResources._012_pg_function_versions_sql, as: UTF8.self)),
        ("0013_pg_function_urls", String(decoding: PackageResources._013_pg_function_urls_sql, as: UTF8.self)),
        ("0014_pg_layers", String(decoding: PackageResources._014_pg_layers_sql, as: UTF8.self)),
        ("0015_pg_function_policies", String(decoding: PackageResources._015_pg_function_policies_sql, as: UTF8.self)),
    ]
}
