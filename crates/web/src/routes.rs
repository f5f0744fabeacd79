//! The route table. Each route is registered with its method, path, access rule and the
//! schemas of its body and answer; the same table builds the router, the OpenAPI document and
//! the role × route test matrix, so none of them can drift from the others.

use axum::Router;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::routing::{MethodFilter, on};
use utoipa::openapi::path::Parameter;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{self, Access};
use crate::state::AppState;

#[derive(Clone, Debug)]
pub enum Answer {
    None,
    One(String),
    List(String),
    /// A download of this media type.
    File(&'static str),
}

#[derive(Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    pub tag: &'static str,
    pub body: Option<String>,
    pub answer: Answer,
    pub status: StatusCode,
    pub query: Vec<Parameter>,
    pub schemas: Vec<(String, RefOr<Schema>)>,
}

fn register<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> String {
    let name = T::name().into_owned();
    T::schemas(schemas);
    schemas.push((name.clone(), T::schema()));
    name
}

impl RouteSpec {
    fn new(method: Method, path: &'static str, access: Access, summary: &'static str) -> Self {
        let tag = path.trim_start_matches("/api/v1/").split('/').next().unwrap_or("api");
        Self {
            method,
            path,
            access,
            summary,
            tag,
            body: None,
            answer: Answer::None,
            status: StatusCode::OK,
            query: Vec::new(),
            schemas: Vec::new(),
        }
    }

    #[must_use]
    pub fn get(path: &'static str, access: Access, summary: &'static str) -> Self {
        Self::new(Method::GET, path, access, summary)
    }
    #[must_use]
    pub fn post(path: &'static str, access: Access, summary: &'static str) -> Self {
        Self::new(Method::POST, path, access, summary)
    }
    #[must_use]
    pub fn put(path: &'static str, access: Access, summary: &'static str) -> Self {
        Self::new(Method::PUT, path, access, summary)
    }
    #[must_use]
    pub fn patch(path: &'static str, access: Access, summary: &'static str) -> Self {
        Self::new(Method::PATCH, path, access, summary)
    }
    #[must_use]
    pub fn delete(path: &'static str, access: Access, summary: &'static str) -> Self {
        Self::new(Method::DELETE, path, access, summary).status(StatusCode::NO_CONTENT)
    }

    #[must_use]
    pub fn body<T: ToSchema>(mut self) -> Self {
        self.body = Some(register::<T>(&mut self.schemas));
        self
    }
    #[must_use]
    pub fn returns<T: ToSchema>(mut self) -> Self {
        self.answer = Answer::One(register::<T>(&mut self.schemas));
        self
    }
    #[must_use]
    pub fn returns_list<T: ToSchema>(mut self) -> Self {
        self.answer = Answer::List(register::<T>(&mut self.schemas));
        self
    }
    #[must_use]
    pub fn returns_file(mut self, media_type: &'static str) -> Self {
        self.answer = Answer::File(media_type);
        self
    }
    #[must_use]
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
    #[must_use]
    pub fn query<Q: IntoParams>(mut self) -> Self {
        self.query = Q::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query));
        self
    }
}

pub struct Routes {
    state: AppState,
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Routes {
    #[must_use]
    pub fn new(state: &AppState) -> Self {
        Self { state: state.clone(), router: Router::new(), specs: Vec::new() }
    }

    /// Registers `handler` for `spec`, behind the spec's access check.
    #[must_use]
    pub fn add<H, T>(mut self, spec: RouteSpec, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(spec.method.clone()).unwrap_or(MethodFilter::GET);
        let access = spec.access;
        let method_router = on(filter, handler).route_layer(axum::middleware::from_fn_with_state(
            self.state.clone(),
            move |axum::extract::State(s): axum::extract::State<AppState>,
                  req: axum::extract::Request,
                  next: axum::middleware::Next| { auth::authorize(s, access, req, next) },
        ));
        self.router = self.router.route(spec.path, method_router);
        self.specs.push(spec);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteSpec>) {
        (self.router, self.specs)
    }
}
