"""Personal data in notes: what counts and what a clinical note's numbers must not be taken for."""

import pytest

from medsyn.builder.quality import pii

FOUND = [
    ("Тел. +7 (916) 123-45-67, пациент", "phone"),
    ("звонить 8 916 123 45 67", "phone"),
    ("Телефон: 8(495)123-45-67", "phone"),
    ("почта ivanov.p@mail.ru", "email"),
    ("СНИЛС 123-456-789 01", "snils"),
    ("номер 112-233-445 95 в карте", "snils"),
    ("полис ОМС 7751234567891234", "oms_policy"),
    ("паспорт 45 08 123456 выдан ОВД", "passport"),
    ("Дата рождения: 12.03.1965", "birth_date"),
    ("Пациентка 1965 г.р.", "birth_date"),
    ("родилась 01.02.1980", "birth_date"),
    ("проживает по адресу ул. Ленина, д. 5, кв. 12", "address"),
    ("Проживает в г. Москве с семьей", "address"),
]
NOT_FOUND = [
    "АД 130/80 мм рт. ст., ЧСС 72 в минуту",
    "Температура 37,5, сатурация 98%",
    "с 12.03.2020 беспокоят боли в пояснице",
    "вернулся из Турции неделю назад, кашель",
    "боли в области сердца в течение 3 лет",
    "Глюкоза 5,6 ммоль/л, общий холестерин 6,9 ммоль/л, 8 лет назад",
    "Болезнь Паркинсона с 2015 года",
]


@pytest.mark.parametrize("text, kind", FOUND)
def test_personal_data_is_found_with_its_kind(text, kind):
    assert [found.split(":")[0] for found in pii.find_all([text])[0]] == [kind]


def test_clinical_numbers_dates_and_places_visited_are_not_personal_data():
    assert pii.find_all(NOT_FOUND) == [[] for _ in NOT_FOUND]
