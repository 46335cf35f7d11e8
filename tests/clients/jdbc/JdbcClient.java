// The ClickHouse JDBC driver (Maven Central) against netobs's ClickHouse HTTP endpoint: connect, a statement, a
// prepared statement with a parameter, and a refused write; prints one line per result for
// tests/security/test_clickhouse_http.py.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

public class JdbcClient {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", args[2]);
        // netobs answers uncompressed; it does not offer ClickHouse's compressed-block framing (compress=1).
        props.setProperty("compress", "false");
        try (Connection conn = DriverManager.getConnection(args[0], props)) {
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT number, toString(number) AS s FROM numbers(3)")) {
                StringBuilder out = new StringBuilder("rows");
                while (rs.next()) {
                    out.append(' ').append(rs.getLong(1)).append('=').append(rs.getString("s"));
                }
                System.out.println(out);
            }
            String sql = "SELECT host, count() AS n FROM syslog WHERE message LIKE ? GROUP BY host";
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                ps.setString(1, args[3] + "%");
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        System.out.println("host " + rs.getString("host") + " " + rs.getLong("n"));
                    }
                }
            }
            try (Statement st = conn.createStatement()) {
                st.execute("DROP TABLE syslog");
                System.out.println("dropped");
            } catch (SQLException e) {
                System.out.println("refused " + e.getErrorCode());
            }
        }
    }
}
