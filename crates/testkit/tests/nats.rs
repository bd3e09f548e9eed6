//! `TestNats`: unique prefixes, streams deleted on drop.

use futures::TryStreamExt;
use tenure_testkit::{TestNats, init_tracing};

#[tokio::test]
async fn prefixes_differ_and_streams_are_deleted_on_drop() {
    init_tracing();
    let first = TestNats::connect().await.unwrap();
    let second = TestNats::connect().await.unwrap();
    assert_ne!(first.prefix, second.prefix);
    assert_eq!(first.url, second.url);
    assert_eq!(first.prefix.len(), 13);
    assert!(first.prefix.starts_with('t'));
    assert_eq!(first.prefix, first.prefix.to_lowercase());
    assert_eq!(first.subject_root(), first.prefix);
    assert_eq!(
        first.stream_name("employees"),
        format!("{}_EMPLOYEES", first.prefix.to_uppercase())
    );

    let jetstream = async_nats::jetstream::new(first.client().await);
    let name = first.stream_name("employees");
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: name.clone(),
            subjects: vec![format!("{}.employees.>", first.subject_root())],
            ..Default::default()
        })
        .await
        .unwrap();
    jetstream
        .publish(
            format!("{}.employees.EmployeeHired", first.subject_root()),
            "hello".into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();

    drop(first);
    let names: Vec<String> = jetstream.stream_names().try_collect().await.unwrap();
    assert!(!names.contains(&name), "{name} still exists");
}
