//! The OpenAPI 3.1 document of every `/api/v1` route, built from the route table so it cannot
//! disagree with the router. Each operation records its permission as `x-permission`.

use std::collections::BTreeMap;

use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder, Schema,
};
use utoipa::{PartialSchema, ToSchema};

use crate::auth::Access;
use crate::error::ErrorBody;
use crate::routes::{Answer, RouteSpec};

fn method(m: &axum::http::Method) -> HttpMethod {
    match *m {
        axum::http::Method::POST => HttpMethod::Post,
        axum::http::Method::PATCH => HttpMethod::Patch,
        axum::http::Method::PUT => HttpMethod::Put,
        axum::http::Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

fn json(schema: impl Into<RefOr<Schema>>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn list_of(name: &str) -> Schema {
    ObjectBuilder::new()
        .property("items", ArrayBuilder::new().items(Ref::from_schema_name(name)))
        .required("items")
        .property(
            "next_cursor",
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])),
        )
        .required("next_cursor")
        .into()
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json(Ref::from_schema_name("ErrorBody")))
        .build()
}

/// The document for the routes in `specs` under `/api/v1`.
#[must_use]
pub fn document(specs: &[RouteSpec]) -> OpenApi {
    let mut schemas: BTreeMap<String, RefOr<Schema>> = BTreeMap::new();
    let mut collected = Vec::new();
    ErrorBody::schemas(&mut collected);
    collected.push(("ErrorBody".to_owned(), ErrorBody::schema()));
    let mut items: BTreeMap<&str, PathItem> = BTreeMap::new();
    for spec in specs.iter().filter(|s| s.path.starts_with("/api/v1")) {
        collected.extend(spec.schemas.iter().cloned());
        let mut op = OperationBuilder::new().summary(Some(spec.summary)).tag(spec.tag).operation_id(Some(format!(
            "{}_{}",
            spec.method.as_str().to_lowercase(),
            spec.path.trim_start_matches("/api/v1/").replace(['/', '{', '}', '-'], "_").trim_matches('_')
        )));
        for segment in spec.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                // Ids are UUIDs; other path values (a signed token) are opaque strings.
                let format = (name == "id").then_some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                    utoipa::openapi::schema::KnownFormat::Uuid,
                ));
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String).format(format))),
                );
            }
        }
        for p in &spec.query {
            op = op.parameter(p.clone());
        }
        if let Some(body) = &spec.body {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json(Ref::from_schema_name(body)))
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        let ok = match &spec.answer {
            Answer::None => ResponseBuilder::new().description("done").build(),
            Answer::File(media_type) => ResponseBuilder::new()
                .description("a file download")
                .content(
                    *media_type,
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String).content_media_type(*media_type)))
                        .build(),
                )
                .build(),
            Answer::One(name) => ResponseBuilder::new()
                .description("success")
                .content("application/json", json(Ref::from_schema_name(name)))
                .build(),
            Answer::List(name) => ResponseBuilder::new()
                .description("a page of results")
                .content("application/json", json(list_of(name)))
                .build(),
        };
        op = op
            .response(spec.status.as_u16().to_string(), ok)
            .response("400", error_response("malformed request"))
            .response("422", error_response("invalid value"))
            .response("429", error_response("rate limited (see Retry-After)"));
        match spec.access {
            Access::Public => {}
            access => {
                op = op
                    .response("401", error_response("not authenticated"))
                    .response("403", error_response("not permitted"))
                    .response("404", error_response("not found (also another tenant's object)"))
                    .securities(Some([
                        SecurityRequirement::new("bearer", Vec::<String>::new()),
                        SecurityRequirement::new("session", Vec::<String>::new()),
                    ]));
                if let Access::Perm(p) = access {
                    op = op.extensions(Some(ExtensionsBuilder::new().add("x-permission", p.scope()).build()));
                }
            }
        }
        let item = PathItem::new(method(&spec.method), op.build());
        match items.entry(spec.path) {
            std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge_operations(item),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(item);
            }
        }
    }
    for (name, schema) in collected {
        schemas.entry(name).or_insert(schema);
    }
    let mut paths = PathsBuilder::new();
    for (path, item) in items {
        paths = paths.path(path, item);
    }
    let mut components = ComponentsBuilder::new()
        .security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
        .security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("sb_session"))));
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Switchboard API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("Customer messaging with privacy built in. Lists answer {\"items\":[…],\"next_cursor\":…}; errors {\"error\":{\"code\",\"message\",\"field\"}}."))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build()
}
