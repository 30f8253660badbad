import PostgresNIO
import SpoolModel
import SpoolStorage

/// Membership and work leases of the nodes sharing this database, timed by the database's clock (`clock_timestamp()`),
/// so that nodes whose clocks disagree still agree on who is live and whose lease ended.
extension PostgresStore: ClusterStore {
    /// The database's clock, milliseconds since the epoch.
    static let databaseNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

    package func heartbeat(node id: String, address: String, version: String, ttl: Millis) async throws -> [ClusterNode] {
        try await transaction { connection in
            try await connection.run("""
                INSERT INTO cluster_node (id, address, version, started_at, heartbeat_at)
                VALUES (\(id), \(address), \(version), \(unescaped: Self.databaseNow), \(unescaped: Self.databaseNow))
                ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, version = EXCLUDED.version, heartbeat_at = EXCLUDED.heartbeat_at
                """)
            return try await Self.nodes(connection, ttl: ttl)
        }
    }

    package func clusterNodes(ttl: Millis) async throws -> [ClusterNode] {
        try await read { connection in try await Self.nodes(connection, ttl: ttl) }
    }

    static func nodes(_ connection: PostgresConnection, ttl: Millis) async throws -> [ClusterNode] {
        try await connection.rows("""
            SELECT n.id, n.address, n.version, n.started_at, n.heartbeat_at, n.heartbeat_at > \(unescaped: databaseNow) - \(ttl),
              COALESCE((SELECT array_agg(l.unit ORDER BY l.unit) FROM work_lease l WHERE l.node = n.id), '{}')
            FROM cluster_node n ORDER BY n.id
            """).map { row in
            let (id, address, version, started, heartbeat, live, owns) = try row.decode((String, String, String, Int64, Int64, Bool, [String]).self)
            return ClusterNode(id: id, address: address, version: version, startedAt: started, heartbeatAt: heartbeat, live: live, owns: owns)
        }
    }

    package func acquireLeases(node: String, units: [String], ttl: Millis) async throws -> [WorkLease] {
        guard !units.isEmpty else { return [] }
        return try await transaction { connection in
            // A unit is taken when free (the insert), or renewed or taken over (the update) when this node holds it or
            // its lease ended; a unit held unexpired by another node is left alone. A change of hands raises the epoch.
            try await connection.rows("""
                INSERT INTO work_lease (unit, node, epoch, expires_at)
                SELECT unit, \(node), 1, \(unescaped: Self.databaseNow) + \(ttl) FROM unnest(\(units)::text[]) AS wanted(unit)
                ON CONFLICT (unit) DO UPDATE SET
                  epoch = CASE WHEN work_lease.node = EXCLUDED.node THEN work_lease.epoch ELSE work_lease.epoch + 1 END,
                  node = EXCLUDED.node, expires_at = EXCLUDED.expires_at
                WHERE work_lease.node = EXCLUDED.node OR work_lease.expires_at <= \(unescaped: Self.databaseNow)
                RETURNING unit, node, epoch, expires_at
                """).map { row in
                let (unit, holder, epoch, expires) = try row.decode((String, String, Int64, Int64).self)
                return WorkLease(unit: unit, node: holder, epoch: epoch, expiresAt: expires)
            }.sorted { $0.unit < $1.unit }
        }
    }

    package func releaseLeases(node: String, units: [String]) async throws {
        guard !units.isEmpty else { return }
        try await transaction { connection in
            // The row stays, ended and held by nobody, so that the unit's epoch keeps rising when it is taken again.
            try await connection.run("UPDATE work_lease SET node = '', expires_at = 0 WHERE node = \(node) AND unit = ANY(\(units)::text[])")
        }
    }

    package func dropLeases(except units: [String]) async throws {
        try await transaction { connection in
            try await connection.run("""
                DELETE FROM work_lease WHERE expires_at <= \(unescaped: Self.databaseNow) AND NOT (unit = ANY(\(units)::text[]))
                """)
        }
    }

    package func workLeases() async throws -> [WorkLease] {
        try await read { connection in
            try await connection.rows("SELECT unit, node, epoch, expires_at FROM work_lease ORDER BY unit").map { row in
                let (unit, holder, epoch, expires) = try row.decode((String, String, Int64, Int64).self)
                return WorkLease(unit: unit, node: holder, epoch: epoch, expiresAt: expires)
            }
        }
    }

    package func releaseInvocationLeases(ofNodes nodes: [String], margin: Millis, now: Millis) async throws -> Int {
        guard !nodes.isEmpty else { return 0 }
        return try await transaction { connection in
            let released = try await connection.count("""
                UPDATE invocation SET state = 'queued', visible_at = \(now), lease_node = NULL
                WHERE state = 'running' AND lease_node = ANY(\(nodes)::text[]) AND visible_at - \(margin) <= \(now)
                RETURNING 1
                """)
            try await connection.run("""
                DELETE FROM concurrency_slot WHERE node = ANY(\(nodes)::text[]) AND expires_at - \(margin) <= \(now)
                """)
            return released
        }
    }

    package func takeConcurrencySlot(function: String, limit: Int, node: String, now: Millis, expiresAt: Millis) async throws -> Int64? {
        try await transaction { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended(\("slot:" + function), 0))")
            try await connection.run("DELETE FROM concurrency_slot WHERE function = \(function) AND expires_at <= \(now)")
            return try await connection.value("""
                INSERT INTO concurrency_slot (function, node, expires_at)
                SELECT \(function), \(node), \(expiresAt)
                WHERE (SELECT count(*) FROM concurrency_slot WHERE function = \(function)) < \(limit)
                RETURNING id
                """, as: Int64.self)
        }
    }

    package func releaseConcurrencySlot(id: Int64) async throws {
        try await transaction { connection in
            try await connection.run("DELETE FROM concurrency_slot WHERE id = \(id)")
        }
    }

    package func leave(node: String) async throws {
        try await transaction { connection in
            try await connection.run("UPDATE work_lease SET node = '', expires_at = 0 WHERE node = \(node)")
            try await connection.run("DELETE FROM cluster_node WHERE id = \(node)")
        }
    }
}
