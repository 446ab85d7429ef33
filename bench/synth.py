"""Synthetic multilingual offers and needs for benchmarks (not for quality figures).

Texts in Spanish, Portuguese, English and French are assembled from fragments written for this
generator: per factor, topics and target populations; per language, sentence templates for
needs and offers; plus invented programme and place names, so the vocabulary grows with the
number of items as real submissions do. `generate(n_offers, n_needs, seed)` is deterministic.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.scoring.types import Item

COUNTRIES: tuple[tuple[str, str], ...] = (
    ("ARG", "es"), ("BOL", "es"), ("BRA", "pt"), ("CHL", "es"), ("COL", "es"), ("CRI", "es"),
    ("DOM", "es"), ("ECU", "es"), ("GTM", "es"), ("HND", "es"), ("MEX", "es"), ("NIC", "es"),
    ("PAN", "es"), ("PER", "es"), ("PRY", "es"), ("SLV", "es"), ("URY", "es"), ("VEN", "es"),
    ("HTI", "fr"), ("JAM", "en"), ("TTO", "en"), ("BRB", "en"), ("BHS", "en"), ("BLZ", "en"),
    ("GUY", "en"), ("GRD", "en"),
)  # fmt: skip

MODALITIES = (
    "technical_assistance", "study_visit", "expert_exchange", "training", "documentation",
    "internship",
)  # fmt: skip

# factor -> language -> (topics, populations)
TOPICS: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "indigenous": {
        "es": (
            (
                "consulta previa con autoridades comunitarias sobre tareas peligrosas",
                "guías culturales para distinguir la crianza del trabajo peligroso",
                "promotores bilingües en territorios de pueblos originarios",
            ),
            ("niñas y niños de pueblos originarios", "familias de comunidades amazónicas"),
        ),
        "pt": (
            (
                "consulta às lideranças das aldeias sobre trabalho perigoso",
                "materiais bilíngues sobre direitos da criança nas aldeias",
                "agentes comunitários indígenas na prevenção do trabalho infantil",
            ),
            ("crianças indígenas das aldeias", "famílias quilombolas e indígenas"),
        ),
        "en": (
            (
                "community consultation with indigenous leaders on hazardous chores",
                "culturally adapted guidance separating household help from harmful work",
                "bilingual outreach workers in indigenous territories",
            ),
            ("children of indigenous communities", "Maya and Garifuna families"),
        ),
        "fr": (
            (
                "concertation avec les autorités coutumières sur les travaux dangereux",
                "guides adaptés à la culture pour distinguer entraide et travail nuisible",
                "animateurs bilingues dans les communautés autochtones",
            ),
            ("enfants des communautés rurales isolées", "familles des sections communales"),
        ),
    },
    "education": {
        "es": (
            (
                "becas condicionadas a la asistencia escolar",
                "alerta temprana de abandono escolar en secundaria",
                "jornada escolar extendida con actividades deportivas",
            ),
            ("estudiantes en riesgo de deserción", "adolescentes que trabajan y estudian"),
        ),
        "pt": (
            (
                "bolsas vinculadas à frequência escolar",
                "busca ativa de alunos que abandonaram a escola",
                "ensino em tempo integral com oficinas no contraturno",
            ),
            ("alunos em risco de evasão", "adolescentes trabalhadores"),
        ),
        "en": (
            (
                "cash grants tied to school attendance",
                "early warning of school dropout in lower secondary",
                "after-school programmes that keep pupils away from work",
            ),
            ("pupils at risk of dropping out", "working teenagers"),
        ),
        "fr": (
            (
                "bourses liées à l'assiduité scolaire",
                "repérage précoce du décrochage scolaire",
                "activités périscolaires pour éloigner les élèves du travail",
            ),
            ("élèves menacés de décrochage", "adolescents qui travaillent"),
        ),
    },
    "agriculture": {
        "es": (
            (
                "centros de cuidado infantil durante la cosecha",
                "inspección laboral en fincas cafetaleras y cañeras",
                "sellos de producción libre de trabajo infantil",
            ),
            ("hijos de jornaleros agrícolas", "familias productoras de café"),
        ),
        "pt": (
            (
                "creches no período da colheita",
                "fiscalização do trabalho nas lavouras de cana e café",
                "certificação de propriedades rurais sem trabalho infantil",
            ),
            ("filhos de trabalhadores rurais", "agricultores familiares"),
        ),
        "en": (
            (
                "childcare centres during the harvest season",
                "labour inspection on sugar cane and banana farms",
                "certification of farms free of child labour",
            ),
            ("children of seasonal farm workers", "smallholder families"),
        ),
        "fr": (
            (
                "garderies pendant la saison des récoltes",
                "inspection du travail dans les plantations",
                "label des exploitations sans travail des enfants",
            ),
            ("enfants des ouvriers agricoles", "petits exploitants"),
        ),
    },
    "value_chains": {
        "es": (
            (
                "debida diligencia en la cadena de suministro de minerales",
                "trazabilidad de proveedores en la industria textil",
                "auditorías sociales a proveedores de exportación",
            ),
            ("empresas exportadoras", "pequeños proveedores de la cadena"),
        ),
        "pt": (
            (
                "due diligence na cadeia de fornecimento de carne",
                "rastreabilidade de fornecedores na indústria de calçados",
                "pacto empresarial contra o trabalho infantil",
            ),
            ("empresas exportadoras", "fornecedores de pequeno porte"),
        ),
        "en": (
            (
                "supply chain due diligence in mining and quarrying",
                "supplier traceability in garment manufacturing",
                "social audits of export suppliers",
            ),
            ("exporting companies", "small suppliers in the chain"),
        ),
        "fr": (
            (
                "devoir de vigilance dans la chaîne d'approvisionnement",
                "traçabilité des fournisseurs dans la filière textile",
                "audits sociaux des fournisseurs exportateurs",
            ),
            ("entreprises exportatrices", "petits fournisseurs de la filière"),
        ),
    },
    "migration": {
        "es": (
            (
                "protección de niños migrantes no acompañados en la frontera",
                "registro escolar de hijos de trabajadores temporeros migrantes",
                "acuerdos binacionales sobre trabajo infantil en zonas fronterizas",
            ),
            ("niñez migrante no acompañada", "familias migrantes estacionales"),
        ),
        "pt": (
            (
                "acolhimento de crianças migrantes desacompanhadas",
                "matrícula escolar de filhos de migrantes sazonais",
                "cooperação fronteiriça contra o trabalho infantil",
            ),
            ("crianças migrantes e refugiadas", "famílias migrantes"),
        ),
        "en": (
            (
                "protection of unaccompanied migrant children at border crossings",
                "school enrolment of children of seasonal migrant workers",
                "cross-border agreements against child labour",
            ),
            ("unaccompanied migrant children", "seasonal migrant families"),
        ),
        "fr": (
            (
                "protection des enfants migrants non accompagnés à la frontière",
                "scolarisation des enfants de travailleurs migrants saisonniers",
                "accords transfrontaliers contre le travail des enfants",
            ),
            ("enfants migrants non accompagnés", "familles rapatriées"),
        ),
    },
    "youth_employment": {
        "es": (
            (
                "aprendizaje dual para adolescentes en edad de trabajar",
                "formación técnica y primer empleo protegido",
                "orientación vocacional y colocación laboral juvenil",
            ),
            ("adolescentes de 15 a 17 años", "jóvenes que dejaron la escuela"),
        ),
        "pt": (
            (
                "aprendizagem profissional para adolescentes",
                "qualificação técnica e primeiro emprego protegido",
                "orientação profissional e intermediação de mão de obra juvenil",
            ),
            ("adolescentes de 14 a 17 anos", "jovens fora da escola"),
        ),
        "en": (
            (
                "apprenticeships for adolescents of legal working age",
                "technical training and a first protected job",
                "career guidance and youth job placement",
            ),
            ("adolescents aged 15 to 17", "young people out of school"),
        ),
        "fr": (
            (
                "apprentissage pour les adolescents en âge de travailler",
                "formation professionnelle et premier emploi protégé",
                "orientation et insertion professionnelle des jeunes",
            ),
            ("adolescents de 15 à 17 ans", "jeunes déscolarisés"),
        ),
    },
    "decentralisation": {
        "es": (
            (
                "comités municipales de prevención del trabajo infantil",
                "planes locales con presupuesto propio contra el trabajo infantil",
                "mesas departamentales de coordinación interinstitucional",
            ),
            ("gobiernos municipales", "técnicos de alcaldías"),
        ),
        "pt": (
            (
                "comissões municipais de erradicação do trabalho infantil",
                "planos municipais com orçamento próprio",
                "redes locais de proteção nos municípios",
            ),
            ("gestores municipais", "conselhos tutelares"),
        ),
        "en": (
            (
                "municipal committees on child labour prevention",
                "local action plans with their own budget",
                "district coordination between ministries and councils",
            ),
            ("local government officers", "parish and district councils"),
        ),
        "fr": (
            (
                "comités communaux de prévention du travail des enfants",
                "plans locaux dotés d'un budget propre",
                "coordination départementale entre services de l'État",
            ),
            ("élus et agents communaux", "conseils d'administration des sections"),
        ),
    },
    "ict": {
        "es": (
            (
                "registro electrónico de adolescentes trabajadores autorizados",
                "aplicación móvil para denunciar trabajo infantil",
                "tablero de datos para focalizar la inspección",
            ),
            ("inspectores del trabajo", "funcionarios de protección"),
        ),
        "pt": (
            (
                "sistema eletrônico de notificação de casos",
                "aplicativo para denúncias de trabalho infantil",
                "painel de indicadores para planejar a fiscalização",
            ),
            ("auditores fiscais do trabalho", "técnicos da assistência social"),
        ),
        "en": (
            (
                "electronic registry of authorised working adolescents",
                "mobile app to report child labour",
                "data dashboard to target labour inspection",
            ),
            ("labour inspectors", "child protection officers"),
        ),
        "fr": (
            (
                "registre électronique des adolescents autorisés à travailler",
                "application mobile de signalement du travail des enfants",
                "tableau de bord pour cibler l'inspection du travail",
            ),
            ("inspecteurs du travail", "agents de protection de l'enfance"),
        ),
    },
}

NEED_TEMPLATES: dict[str, tuple[str, ...]] = {
    "es": ("Necesitamos apoyo para diseñar {topic} en {place}.",
           "Hoy no contamos con {topic} y las cifras de trabajo infantil siguen altas.",
           "Buscamos un país que haya aplicado {topic} y pueda compartir su método.",
           "La población objetivo son {pop}.",
           "Queremos conocer costos, normas y resultados de {topic}.",
           "El ministerio coordinará con el programa {prog} ya existente."),
    "pt": ("Precisamos de apoio para implantar {topic} em {place}.",
           "Ainda não temos {topic} e os casos de trabalho infantil continuam altos.",
           "Procuramos um país que já tenha aplicado {topic} e possa partilhar o método.",
           "O público-alvo são {pop}.",
           "Queremos conhecer custos, normas e resultados de {topic}.",
           "O ministério articulará com o programa {prog} já existente."),
    "en": ("We need support to set up {topic} in {place}.",
           "We do not yet have {topic}, and child labour figures remain high.",
           "We are looking for a country that has run {topic} and can share its method.",
           "The target group is {pop}.",
           "We want to learn the costs, rules and results of {topic}.",
           "The ministry will coordinate with the existing {prog} programme."),
    "fr": ("Nous avons besoin d'appui pour mettre en place {topic} à {place}.",
           "Nous n'avons pas encore de {topic} et le travail des enfants reste élevé.",
           "Nous cherchons un pays ayant appliqué {topic} pour partager sa méthode.",
           "La population visée : {pop}.",
           "Nous voulons connaître les coûts, les règles et les résultats de {topic}.",
           "Le ministère coordonnera avec le programme {prog} existant."),
}  # fmt: skip

OFFER_TEMPLATES: dict[str, tuple[str, ...]] = {
    "es": ("Desde hace años el programa {prog} aplica {topic} en {place}.",
           "Ofrecemos compartir la metodología, los protocolos y los instrumentos de {topic}.",
           "La experiencia atendió a {pop} con resultados evaluados.",
           "Podemos recibir equipos técnicos y acompañar la adaptación al contexto local.",
           "El modelo combina {topic} con la coordinación entre ministerios."),
    "pt": ("Há anos o programa {prog} aplica {topic} em {place}.",
           "Oferecemos partilhar a metodologia, os protocolos e os instrumentos de {topic}.",
           "A experiência atendeu {pop} com resultados avaliados.",
           "Podemos receber equipes técnicas e acompanhar a adaptação ao contexto local.",
           "O modelo combina {topic} com a articulação entre ministérios."),
    "en": ("For several years the {prog} programme has delivered {topic} in {place}.",
           "We offer to share the method, protocols and tools of {topic}.",
           "The experience reached {pop} and was independently evaluated.",
           "We can host technical teams and support adaptation to local conditions.",
           "The model combines {topic} with coordination across ministries."),
    "fr": ("Depuis plusieurs années le programme {prog} met en œuvre {topic} à {place}.",
           "Nous proposons de partager la méthode, les protocoles et les outils de {topic}.",
           "L'expérience a touché {pop} et a été évaluée.",
           "Nous pouvons accueillir des équipes techniques et accompagner l'adaptation.",
           "Le modèle associe {topic} à la coordination entre ministères."),
}  # fmt: skip

TITLE_NEED = {"es": "Apoyo para {topic}", "pt": "Apoio para {topic}",
              "en": "Support for {topic}", "fr": "Appui pour {topic}"}  # fmt: skip
TITLE_OFFER = {"es": "{prog}: {topic}", "pt": "{prog}: {topic}",
               "en": "{prog}: {topic}", "fr": "{prog} : {topic}"}  # fmt: skip

_SYLLABLES = ("ka", "lu", "mi", "ta", "ro", "na", "qui", "po", "se", "ya", "hu", "chi", "ma",
              "ri", "to", "wa", "pe", "sa", "no", "li")  # fmt: skip


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def _item(rng: random.Random, kind: str, index: int) -> Item:
    country, lang = rng.choice(COUNTRIES)
    factor = rng.choice(sorted(TOPICS))
    topics, pops = TOPICS[factor][lang]
    topic = rng.choice(topics)
    fill = {
        "topic": topic,
        "pop": rng.choice(pops),
        "place": _name(rng, rng.randint(2, 4)),
        "prog": _name(rng, rng.randint(2, 3)),
    }
    templates = NEED_TEMPLATES[lang] if kind == "need" else OFFER_TEMPLATES[lang]
    n_sentences = rng.randint(2, min(5, len(templates)))
    sentences = [t.format(**fill) for t in rng.sample(templates, n_sentences)]
    title = (TITLE_NEED if kind == "need" else TITLE_OFFER)[lang].format(**fill)
    return Item(
        id=f"{kind[0]}{index:07d}",
        kind="need" if kind == "need" else "offer",
        country=country,
        factor=factor,
        language=lang,
        modality=rng.choice(MODALITIES),
        title=title[0].upper() + title[1:],
        description=" ".join(sentences),
        target_population=fill["pop"],
        capacity=rng.randint(1, 4) if kind == "offer" else None,
    )


def generate(n_offers: int, n_needs: int, seed: int = 0) -> tuple[list[Item], list[Item]]:
    """Deterministic synthetic (offers, needs) in es/pt/en/fr, with ids o0000000/n0000000."""
    rng = random.Random(seed)
    offers = [_item(rng, "offer", i) for i in range(n_offers)]
    needs = [_item(rng, "need", i) for i in range(n_needs)]
    return offers, needs


if __name__ == "__main__":
    offers, needs = generate(3, 3, seed=1)
    for it in (*offers, *needs):
        print(it.kind, it.country, it.language, it.factor, "|", it.title, "|", it.description)
