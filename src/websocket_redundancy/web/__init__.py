"""Static files every tier serves: the dashboard and the browser failover client."""
