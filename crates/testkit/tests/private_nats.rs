//! `PrivateNats`: a server of the test's own that reports its version and
//! keeps JetStream data across a stop and a restart; `dead_url` and `free_port`.

use std::time::Duration;

use tenure_testkit::{PrivateNats, binaries, dead_url, free_port, init_tracing};

#[tokio::test]
async fn reports_its_version_and_runs_jetstream() {
    init_tracing();
    let server = PrivateNats::start().await.unwrap();
    let version = server.version();
    assert_eq!(version, binaries::nats_server_version().unwrap());
    let client = async_nats::connect(server.url()).await.unwrap();
    // The server itself says which version runs, independent of `--version`.
    let (major, minor, patch) = version;
    assert_eq!(
        client.server_info().version,
        format!("{major}.{minor}.{patch}")
    );
    let jetstream = async_nats::jetstream::new(client);
    let stream = jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: "VERSIONED".into(),
            subjects: vec!["versioned.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    jetstream
        .publish("versioned.one", "payload".into())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(stream.get_info().await.unwrap().state.messages, 1);
}

#[tokio::test]
async fn stream_messages_survive_stop_and_restart() {
    init_tracing();
    let mut server = PrivateNats::start().await.unwrap();
    let url = server.url();
    let jetstream = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: "EVENTS".into(),
            subjects: vec!["events.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    for n in 0..3 {
        jetstream
            .publish(format!("events.{n}"), "payload".into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    server.stop().await;
    assert!(
        async_nats::connect(&url).await.is_err(),
        "stopped server still answers"
    );

    server.restart().await.unwrap();
    assert_eq!(server.url(), url);
    let fresh = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
    let info = fresh
        .get_stream("EVENTS")
        .await
        .unwrap()
        .get_info()
        .await
        .unwrap();
    assert_eq!(info.state.messages, 3);

    // A client from before the outage reconnects by itself.
    let info = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match jetstream.get_stream("EVENTS").await {
                Ok(stream) => break stream.get_info().await.unwrap(),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("old client reconnected");
    assert_eq!(info.state.messages, 3);
}

#[tokio::test]
async fn kill_and_drop_release_the_port() {
    let mut server = PrivateNats::start().await.unwrap();
    let port: u16 = server.url().rsplit(':').next().unwrap().parse().unwrap();
    server.kill().await;
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    server.restart().await.unwrap();
    drop(server);
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
}

#[tokio::test]
async fn dead_url_refuses_connections() {
    assert!(async_nats::connect(dead_url()).await.is_err());
    assert_ne!(free_port(), 0);
}
