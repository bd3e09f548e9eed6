//! Serving a service's gRPC routes, with health checking and reflection.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tracing::info;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("a service task panicked")]
    Panicked(#[from] tokio::task::JoinError),
    #[error("the reflection service cannot read the descriptor set")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("the gRPC server failed")]
    Transport(#[from] tonic::transport::Error),
}

/// What to serve besides the service's own routes.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// The encoded `FileDescriptorSet` of the service's protos, for reflection.
    pub descriptor_set: &'static [u8],
    /// Fully qualified service names reported as SERVING by the health service.
    pub services: &'static [&'static str],
}

/// Serves `routes` plus `grpc.health.v1.Health` and server reflection on
/// `listener` until `shutdown`; in-flight calls finish first.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    options: ServeOptions,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for service in options.services {
        reporter
            .set_service_status(*service, ServingStatus::Serving)
            .await;
    }
    let reflection_v1 = reflection(options).build_v1()?;
    let reflection_v1alpha = reflection(options).build_v1alpha()?;

    let address = listener.local_addr().ok();
    info!(address = ?address, services = ?options.services, "gRPC serving");
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_routes(routes)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming, async move {
            shutdown.cancelled().await;
            for service in options.services {
                reporter
                    .set_service_status(*service, ServingStatus::NotServing)
                    .await;
            }
        })
        .await?;
    Ok(())
}

/// Reflection over the service's protos and the health protocol, listing the
/// services this server actually serves.
fn reflection(options: ServeOptions) -> tonic_reflection::server::Builder<'static> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(options.descriptor_set)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health");
    for service in options.services {
        builder = builder.with_service_name(*service);
    }
    builder
}

/// A service running: its gRPC server and background loops (relay,
/// consumers), all stopping on the same shutdown token.
#[derive(Debug)]
pub struct Serving {
    /// Where gRPC listens (the real port when 0 was asked for).
    pub grpc_addr: SocketAddr,
    server: JoinHandle<Result<(), ServeError>>,
    background: Vec<JoinHandle<()>>,
}

impl Serving {
    /// Binds `addr` and serves `routes` (see [`serve`]) beside `background`.
    pub async fn start(
        addr: SocketAddr,
        routes: Routes,
        options: ServeOptions,
        background: Vec<JoinHandle<()>>,
        shutdown: CancellationToken,
    ) -> Result<Serving, ServeError> {
        let listen = |source| ServeError::Listen { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(listen)?;
        let grpc_addr = listener.local_addr().map_err(listen)?;
        let server = tokio::spawn(serve(listener, routes, options, shutdown));
        Ok(Serving {
            grpc_addr,
            server,
            background,
        })
    }

    /// Waits until shutdown has stopped the server and every background loop.
    pub async fn wait(self) -> Result<(), ServeError> {
        self.server.await??;
        for task in self.background {
            task.await?;
        }
        Ok(())
    }
}
