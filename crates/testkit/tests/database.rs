//! `TestDatabase`: fresh, distinct, usable databases that vanish on drop.

use sqlx::{Connection, PgConnection};
use tenure_testkit::{TestDatabase, init_tracing};

/// Whether a database named `name` exists on the server of `admin_url`.
async fn exists(admin_url: &str, name: &str) -> bool {
    let mut admin = PgConnection::connect(admin_url).await.unwrap();
    sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn parallel_databases_are_distinct_usable_and_dropped() {
    init_tracing();
    let (first, second) = tokio::join!(TestDatabase::create(), TestDatabase::create());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_ne!(first.name, second.name);
    assert_ne!(first.url, second.url);
    assert!(first.name.starts_with("tenure_test_"));

    for db in [&first, &second] {
        let pool = db.pool().await;
        sqlx::query("CREATE TABLE marker (name text)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO marker VALUES ($1)")
            .bind(&db.name)
            .execute(&pool)
            .await
            .unwrap();
        let current: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(current, db.name);
        // The pool stays open: the drop must end its connections itself.
        std::mem::forget(pool.clone());
    }

    let admin_url = first.admin_url().to_owned();
    let names = [first.name.clone(), second.name.clone()];
    assert!(exists(&admin_url, &names[0]).await);
    drop(first);
    drop(second);
    for name in &names {
        assert!(!exists(&admin_url, name).await, "{name} still exists");
    }
}

#[test]
fn drop_works_outside_a_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDatabase::create()).unwrap();
    let (admin_url, name) = (db.admin_url().to_owned(), db.name.clone());
    drop(runtime);
    drop(db);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert!(!runtime.block_on(exists(&admin_url, &name)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_databases_at_once() {
    let databases = futures::future::try_join_all((0..12).map(|_| TestDatabase::create()))
        .await
        .unwrap();
    let mut names: Vec<&str> = databases.iter().map(|db| db.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 12);
}
